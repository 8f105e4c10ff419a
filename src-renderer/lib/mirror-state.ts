// Whether the mirror itself is there: one answer for the sidebar, the Overview and the banner.
import { useLive } from './live';
import { useStatus } from './queries';

export type MirrorState = 'connecting' | 'running' | 'down';

/** Down when the status request fails or the event stream was lost (stopped, restarting, unreachable). */
export function useMirrorState(): MirrorState {
  const status = useStatus();
  const { connection } = useLive();
  if (status.isError || connection === 'reconnecting') return 'down';
  return status.data ? 'running' : 'connecting';
}
