import { useEffect, useRef } from 'react';
import type { SettingsResponse } from '../../../src-shared/contract';
import { CapPreviewDialog } from '../../components/cap-preview';
import { setLeaveGuard } from '../../lib/route';
import { Card } from '../../components/ui';
import { NumberSetting, OfflineSetting, PublicKeySetting, SizeCapSetting, UpstreamUrlSetting } from './setting-fields';
import { SettingsFooter } from './SettingsFooter';
import { UpstreamChangeDialog } from './UpstreamChangeDialog';
import { useSettingsForm } from './use-settings-form';

export function SettingsForm({ settings }: { settings: SettingsResponse }) {
  const form = useSettingsForm(settings);
  // Unsaved edits hold a change of view (and a reload) until the user decides.
  const dirty = useRef(form.dirty);
  dirty.current = form.dirty;
  useEffect(() => setLeaveGuard(() => dirty.current), []);
  return (
    <form
      className="settings-form"
      onSubmit={(e) => {
        e.preventDefault();
        form.submit();
      }}
      noValidate
    >
      <Card title="Upstream">
        <UpstreamUrlSetting form={form} />
        <OfflineSetting form={form} />
        <PublicKeySetting form={form} />
      </Card>

      <Card title="Network">
        <NumberSetting form={form} name="timeoutMs" label="Timeout" unit="ms" hint="Bounds connecting, waiting for headers and each pause in a body." />
        <NumberSetting form={form} name="retryAttempts" label="Retries" unit="attempts" hint="On network errors, timeouts and 5xx answers (never on 4xx)." />
        <NumberSetting form={form} name="retryDelayMs" label="Retry delay" unit="ms" hint="Base of the exponential backoff; Retry-After wins." />
      </Card>

      <Card title="Cache">
        <NumberSetting
          form={form}
          name="registryTtlSeconds"
          label="Registry TTL"
          unit="seconds"
          hint="How long a stored registry record is used before it is revalidated."
        />
        <SizeCapSetting form={form} />
        <NumberSetting
          form={form}
          name="prewarmConcurrency"
          label="Pre-warm downloads at once"
          hint="How many releases a pre-warm job fetches in parallel (1–64)."
        />
      </Card>

      <SettingsFooter form={form} />
      <CapPreviewDialog state={form.capPreview} busy={form.saving} />
      <UpstreamChangeDialog
        change={form.upstreamChange}
        busy={form.saving}
        error={form.confirmError}
        onConfirm={form.confirmUpstreamChange}
        onCancel={form.cancelUpstreamChange}
      />
    </form>
  );
}
