import { describeDirection, describeEvidence, describeMove } from '../advice.js';
import { href } from '../routes.js';
import type { Recommendation } from '../types.js';

/** Open recommendations, each with its evidence in words and a Move button that opens the move dialog prefilled. */
export function RecommendationList({ items, onMove, empty }: { items: Recommendation[]; onMove: (r: Recommendation) => void; empty: string }) {
  if (!items.length) return <p>{empty}</p>;
  return (
    <table class="advice">
      <thead>
        <tr>
          <th scope="col">Tenant</th>
          <th scope="col">Direction</th>
          <th scope="col">From → to</th>
          <th scope="col">Evidence</th>
          <th scope="col">Action</th>
        </tr>
      </thead>
      <tbody>
        {items.map((r) => (
          <tr key={r.tenantId}>
            <th scope="row">
              <a href={href({ page: 'tenant', id: r.tenantId })}>{r.slug}</a>
            </th>
            <td>{describeDirection(r)}</td>
            <td>{describeMove(r)}</td>
            <td>
              <ul class="evidence">
                {r.evidence.map((e) => (
                  <li key={e.signal}>{describeEvidence(e)}</li>
                ))}
              </ul>
            </td>
            <td>
              {r.move ? (
                // Named with the tenant: a list of "Move" buttons would all sound alike.
                <button type="button" class="secondary" aria-label={`Move ${r.slug}`} onClick={() => onMove(r)}>
                  Move
                </button>
              ) : (
                `Blocked: ${r.blocked}`
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
