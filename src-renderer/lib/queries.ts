// Query keys and hooks over the control API. react-query holds every answer; the event
// stream (live.ts) updates or invalidates these entries, so there is one source of truth.
import { describeProblem } from '../../src-shared/problems';
import { keepPreviousData, useQuery, type QueryClient, type QueryKey } from '@tanstack/react-query';
import { ApiError } from '../../src-shared/api-client';
import type { ActivityEntry, CacheListQuery, JobView } from '../../src-shared/contract';
import { api } from '../api';

export const keys = {
  status: ['status'] as const,
  settings: ['settings'] as const,
  disk: ['disk'] as const,
  jobs: ['jobs'] as const,
  activity: ['activity'] as const,
  cache: ['cache'] as const,
  cachePage: (query: Omit<CacheListQuery, 'page'>, page: number) => ['cache', query, page] as const,
  package: (name: string) => ['package', name] as const,
};

/** What any change to the stored objects makes stale (a package's detail besides: the caller knows which). */
export const cacheQueries: QueryKey[] = [keys.cache, keys.disk, keys.status];

export function invalidateAll(client: QueryClient, queryKeys: QueryKey[]): void {
  for (const queryKey of queryKeys) void client.invalidateQueries({ queryKey });
}

/** Puts a job's view into the list, replacing an older one: for views at least as new as any seen. */
export function storeJob(client: QueryClient, job: JobView): void {
  client.setQueryData<JobView[]>(keys.jobs, (jobs) => {
    if (!jobs) return [job];
    const at = jobs.findIndex((j) => j.id === job.id);
    if (at < 0) return [job, ...jobs];
    const next = [...jobs];
    next[at] = job;
    return next;
  });
}

/** How many lines of the server's activity log the Overview keeps. */
export const ACTIVITY_LIMIT = 50;

/** Puts a new activity entry on top of the log as fetched (the event may repeat one the fetch already had). */
export function storeActivity(client: QueryClient, entry: ActivityEntry): void {
  client.setQueryData<ActivityEntry[]>(keys.activity, (log) => {
    if (!log) return log;
    if (log.some((e) => e.id === entry.id)) return log;
    return [entry, ...log].slice(0, ACTIVITY_LIMIT);
  });
}

export function useActivity() {
  return useQuery({ queryKey: keys.activity, queryFn: () => api.activity(ACTIVITY_LIMIT) });
}

export function useStatus() {
  return useQuery({ queryKey: keys.status, queryFn: () => api.status(), refetchInterval: 3000 });
}

export function useSettings() {
  return useQuery({ queryKey: keys.settings, queryFn: () => api.settings() });
}

export function useDisk() {
  return useQuery({ queryKey: keys.disk, queryFn: () => api.disk(), refetchInterval: 15_000 });
}

export function useJobs() {
  return useQuery({ queryKey: keys.jobs, queryFn: () => api.jobs() });
}

export function usePackage(name: string | undefined) {
  return useQuery({
    queryKey: keys.package(name ?? ''),
    queryFn: () => api.package(name!),
    enabled: Boolean(name),
    // A 404 (nothing of it cached) is an answer, not a hiccup.
    retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 1,
  });
}

/** One page of the cache list: the list view asks for the pages in sight at once. */
export function cachePageQuery(query: Omit<CacheListQuery, 'page'>, page: number) {
  return {
    queryKey: keys.cachePage(query, page),
    queryFn: ({ signal }: { signal: AbortSignal }) => api.call('GET /cache', { query: { ...query, page }, signal }),
  };
}

export function useCachePage(query: Omit<CacheListQuery, 'page'>, page: number, enabled = true) {
  return useQuery({
    ...cachePageQuery(query, page),
    placeholderData: page === 1 ? keepPreviousData : undefined,
    enabled,
  });
}

/** A message for any error the client throws. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return 'The mirror no longer accepts this dashboard’s sign-in. Run `hexhub dashboard` for a new sign-in link.';
    if (error.status === 403) return `Refused: ${error.body.message}`;
    return describeProblem(error) || `HTTP ${error.status}`;
  }
  if (error instanceof TypeError) return 'The mirror is not answering. Is it still running?';
  return describeProblem(error);
}

export function fieldErrors(error: unknown): Partial<Record<string, string>> {
  return error instanceof ApiError && error.body.fields ? error.body.fields : {};
}
