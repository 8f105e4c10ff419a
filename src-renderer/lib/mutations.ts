// The control API's writes, each written once, with what they change in react-query's
// answers (queries.ts holds the reads). The event stream brings the same changes a moment
// later; updating here too shows them at once, in the view that made them and every other.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { DeleteResponse, JobView, PrewarmRequest, SettingsPatch, SettingsResponse, VerifyReport } from '../../src-shared/contract';
import { api } from '../api';
import { cacheQueries, invalidateAll, keys, storeJob } from './queries';

/** Saves settings (any subset); the form, the offline switches and the disk view's cap alike. */
export function useSaveSettings(callbacks: { onSuccess?: (data: SettingsResponse) => void; onError?: (error: Error, patch: SettingsPatch) => void } = {}) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (patch: SettingsPatch) => api.updateSettings(patch),
    onSuccess: (data) => {
      client.setQueryData(keys.settings, data);
      invalidateAll(client, [keys.status, keys.disk]);
      callbacks.onSuccess?.(data);
    },
    ...(callbacks.onError ? { onError: callbacks.onError } : {}),
  });
}

export function useStartPrewarm(onStarted: (job: JobView) => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (request: PrewarmRequest) => api.startPrewarm(request),
    onSuccess: (job) => {
      // The job's events may have come first, with a later view than this answer.
      client.setQueryData<JobView[]>(keys.jobs, (jobs) => (jobs?.some((j) => j.id === job.id) ? jobs : [job, ...(jobs ?? [])]));
      onStarted(job);
    },
  });
}

export function useCancelJob(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.cancelJob(id),
    onSuccess: (view) => storeJob(client, view),
  });
}

export type Deletion = { kind: 'package' } | { kind: 'release'; version: string };

/** Deletes a package, or one release of it, from the cache. */
export function useDeleteCached(name: string, onDeleted: (result: DeleteResponse, what: Deletion) => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (what: Deletion): Promise<DeleteResponse> => (what.kind === 'package' ? api.deletePackage(name) : api.deleteRelease(name, what.version)),
    onSuccess: (result, what) => {
      invalidateAll(client, cacheQueries);
      // A deleted package's detail is gone, not stale: refetching it would only bring a 404.
      if (what.kind === 'package') client.removeQueries({ queryKey: keys.package(name) });
      else void client.invalidateQueries({ queryKey: keys.package(name) });
      onDeleted(result, what);
    },
  });
}

/** Re-hashes every stored file; damaged ones are quarantined, so the lists change. */
export function useVerifyCache(onVerified: (report: VerifyReport) => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.verify(),
    onSuccess: (report) => {
      invalidateAll(client, cacheQueries);
      onVerified(report);
    },
  });
}
