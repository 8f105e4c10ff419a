// A strip across the top of every view, for a state that holds until something changes: the
// mirror or its upstream out of reach, a full disk, offline mode.
import type { ReactNode } from 'react';
import { Icon, type IconName } from './icons';

export type BannerAction = { label: string; onClick: () => void; disabled?: boolean } | { label: string; href: string };

export function Banner({
  tone,
  icon = tone === 'danger' ? 'warning' : 'info',
  testId,
  children,
  detail,
  actions = [],
}: {
  tone: 'danger' | 'info';
  icon?: IconName;
  testId?: string;
  children: ReactNode;
  /** A second line in small type: the error as the mirror reported it. */
  detail?: ReactNode;
  /** Ways out; a falsy entry is one that does not apply now. */
  actions?: (BannerAction | false | undefined)[];
}) {
  const shown = actions.filter((action): action is BannerAction => Boolean(action));
  return (
    // A problem interrupts; a mode (offline) is only announced.
    <div className={`banner banner-${tone}`} role={tone === 'danger' ? 'alert' : 'status'} data-testid={testId}>
      <Icon name={icon} />
      <div className="banner-text">
        {children}
        {detail ? <span className="banner-detail">{detail}</span> : null}
      </div>
      {shown.length ? (
        <div className="banner-actions">
          {shown.map((action) =>
            'href' in action ? (
              <a key={action.label} className="btn btn-small" href={action.href}>
                {action.label}
              </a>
            ) : (
              <button key={action.label} type="button" className="btn btn-small" onClick={action.onClick} disabled={action.disabled}>
                {action.label}
              </button>
            ),
          )}
        </div>
      ) : null}
    </div>
  );
}
