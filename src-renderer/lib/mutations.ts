// The control API's writes, each written once, with what they change in react-query's
// answers (queries.ts holds the reads). The event stream brings the same changes a moment
// later; updating here too shows them at once, in the view that made them and every other.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { DeleteResponse, JobView, PrewarmRequest, SettingsPatch, SettingsResponse, StatusResponse, VerifyReport } from '../../src-shared/contract';
import { api } from '../api';
import { useToast } from '../components/toasts';
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

/**
 * The offline switch, the same everywhere (banner, Overview, Settings): it acts at once, without
 * the Settings form's Save, and says what it did.
 */
export function useOfflineSwitch() {
  const toast = useToast();
  const client = useQueryClient();
  // What the user asked for, set in the click's own event so the switch moves at once (a
  // controlled checkbox whose state waits for the mutation's observer snaps back first), and
  // kept until the status says the same: no flicker back while it is saved.
  const [asked, setAsked] = useState<boolean | undefined>(undefined);
  const save = useSaveSettings({
    onSuccess: (data) => {
      const offline = !data.values.upstreamEnabled;
      client.setQueryData<StatusResponse>(keys.status, (status) => (status ? { ...status, offline } : status));
      setAsked(undefined);
      toast('ok', offline ? 'Offline mode on: only cached content is served' : 'Online: the upstream is used again');
    },
    onError: () => setAsked(undefined),
  });
  return {
    isPending: save.isPending,
    isError: save.isError,
    error: save.error,
    reset: save.reset,
    mutate: (offline: boolean) => {
      setAsked(offline);
      save.mutate({ upstreamEnabled: !offline });
    },
    /** What a switch shows: the state asked for while it is being saved, else the saved one. */
    shown: (offline: boolean) => asked ?? offline,
  };
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

/** Starts counting again from now; the answer is the zeroed counters. */
export function useResetCounters(onReset: () => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.resetCounters(),
    onSuccess: (counters) => {
      client.setQueryData<StatusResponse>(keys.status, (status) => (status ? { ...status, counters } : status));
      onReset();
    },
  });
}

/** Retry failed, Run again: each starts a new job, which goes on top of the list. */
export function useFollowUpJob(id: string, onStarted: (job: JobView) => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (how: 'retry' | 'rerun') => (how === 'retry' ? api.retryJob(id) : api.rerunJob(id)),
    onSuccess: (job) => {
      // As with a new pre-warm: the job's events may have come first, with a later view than this answer.
      client.setQueryData<JobView[]>(keys.jobs, (jobs) => (jobs?.some((j) => j.id === job.id) ? jobs : [job, ...(jobs ?? [])]));
      onStarted(job);
    },
  });
}

/** Forgets finished jobs; the answer is the jobs left. */
export function useClearFinishedJobs() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.clearFinishedJobs(),
    onSuccess: (jobs) => client.setQueryData(keys.jobs, jobs),
  });
}
