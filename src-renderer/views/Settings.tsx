import { Loading, PageHeader, QueryError } from '../components/ui';
import { useSettings } from '../lib/queries';
import { MachineSetup } from './MachineSetup';
import { Appearance } from './settings/Appearance';
import { SettingsForm } from './settings/SettingsForm';

export function SettingsView() {
  const settings = useSettings();
  return (
    <>
      <PageHeader
        title="Settings"
        subtitle="Saved in the data dir and applied at once. Values set by environment variables are shown but cannot be changed here."
      />
      {settings.isPending ? <Loading /> : null}
      {settings.isError && !settings.data ? <QueryError error={settings.error} onRetry={() => void settings.refetch()} /> : null}
      {settings.data ? <SettingsForm settings={settings.data} /> : null}
      <MachineSetup />
      <Appearance />
    </>
  );
}
