// Query keys and hooks over the control API. react-query holds every answer; the event
// stream (live.ts) updates or invalidates these entries, so there is one source of truth.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { ApiError } from '../../src-shared/api-client';
import type { CacheListQuery } from '../../src-shared/contract';
import { api } from '../api';

export const keys = {
  status: ['status'] as const,
  settings: ['settings'] as const,
  disk: ['disk'] as const,
  jobs: ['jobs'] as const,
  cache: ['cache'] as const,
  cachePage: (query: Omit<CacheListQuery, 'page'>, page: number) => ['cache', query, page] as const,
  package: (name: string) => ['package', name] as const,
};

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

export function useCachePage(query: Omit<CacheListQuery, 'page'>, page: number, enabled = true) {
  return useQuery({
    queryKey: keys.cachePage(query, page),
    queryFn: ({ signal }) => api.call('GET /cache', { query: { ...query, page }, signal }),
    placeholderData: page === 1 ? keepPreviousData : undefined,
    enabled,
  });
}

/** A message for any error the client throws. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return 'The mirror no longer accepts this dashboard’s sign-in. Run `hexhub dashboard` for a new sign-in link.';
    if (error.status === 403) return `Refused: ${error.body.message}`;
    return error.body.message || `HTTP ${error.status}`;
  }
  if (error instanceof TypeError) return 'The mirror is not answering. Is it still running?';
  return error instanceof Error ? error.message : String(error);
}

export function fieldErrors(error: unknown): Partial<Record<string, string>> {
  return error instanceof ApiError && error.body.fields ? error.body.fields : {};
}
