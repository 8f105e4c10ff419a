import { PageHeader } from '../components/ui';
import { Jobs } from './downloads/Jobs';
import { PrewarmForm } from './downloads/PrewarmForm';
import { Transfers } from './downloads/Transfers';

export function DownloadsView() {
  return (
    <>
      <PageHeader title="Downloads" subtitle="Transfers from the upstream as they happen, and pre-warm jobs that fill the cache ahead of time." />
      <div className="grid grid-downloads">
        <PrewarmForm />
        <Transfers />
      </div>
      <Jobs />
    </>
  );
}
