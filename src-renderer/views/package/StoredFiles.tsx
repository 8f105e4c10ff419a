import type { CachedObjectView } from '../../../src-shared/contract';
import { formatAgo, formatBytes, formatCount, formatDateTime, KIND_LABELS } from '../../lib/format';

export function StoredFiles({ objects, now }: { objects: CachedObjectView[]; now: number }) {
  return (
    <table className="mini-table">
      <thead>
        <tr>
          <th scope="col">File</th>
          <th scope="col" className="right">
            Size
          </th>
          <th scope="col" className="right">
            Hits
          </th>
          <th scope="col">Last used</th>
        </tr>
      </thead>
      <tbody>
        {objects.map((o) => (
          <tr key={o.key}>
            <td className="mono" title={KIND_LABELS[o.kind]}>
              {o.key}
            </td>
            <td className="right num">{formatBytes(o.size)}</td>
            <td className="right num">{formatCount(o.hits)}</td>
            <td title={formatDateTime(o.lastUsedAt)}>{formatAgo(o.lastUsedAt, Math.max(now, o.lastUsedAt))}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
