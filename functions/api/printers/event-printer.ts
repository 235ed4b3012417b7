/**
 * `kubectl get events`: LAST SEEN TYPE REASON OBJECT MESSAGE, and with `-o wide` SUBOBJECT
 * SOURCE FIRST SEEN COUNT NAME. Events written through events.k8s.io carry `eventTime` and
 * `series` instead of the core timestamps and count; both shapes print alike.
 */
import { ageSince } from './human-duration.ts';
import { column, type KindPrinter, nameOf, wide } from './kind-printer.ts';
import { at, integer, optionalRecord, text } from './object-fields.ts';

export const eventPrinter: KindPrinter = {
  columns: [
    column('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
    column('Type', 'Type of this event (Normal, Warning).'),
    column('Reason', 'Why the action was taken, in a short machine-understandable form.'),
    column('Object', 'The object this event is about.'),
    wide('Subobject', 'The part of the object this event is about, e.g. a container.'),
    wide('Source', 'The component (and host) that reported this event.'),
    column('Message', 'A human-readable description of the status of this operation.'),
    wide('First Seen', 'The time at which the event was first recorded.'),
    wide('Count', 'The number of times this event has occurred.'),
    { ...wide('Name', 'Name of the event.'), format: 'name' },
  ],
  print(event, now) {
    const involved = at(event, 'involvedObject');
    let firstSeen = ageSince(text(event.firstTimestamp) || undefined, now);
    if (!text(event.firstTimestamp)) firstSeen = ageSince(text(event.eventTime) || undefined, now);
    let lastSeen = text(event.lastTimestamp) ? ageSince(text(event.lastTimestamp), now) : firstSeen;
    let count = integer(event.count);
    const series = optionalRecord(event.series);
    if (series) {
      lastSeen = ageSince(text(series.lastObservedTime) || undefined, now);
      count = integer(series.count);
    } else if (count === 0) {
      // Events created through events.k8s.io as singletons carry no count.
      count = 1;
    }
    const kind = text(at(involved, 'kind')).toLowerCase();
    const name = text(at(involved, 'name'));
    const component = text(at(event, 'source', 'component')) || text(event.reportingComponent);
    const host = text(at(event, 'source', 'host')) || text(event.reportingInstance);
    return {
      cells: [
        lastSeen,
        text(event.type),
        text(event.reason),
        name ? `${kind}/${name}` : kind,
        text(at(involved, 'fieldPath')),
        host ? `${component}, ${host}` : component,
        text(event.message).trim(),
        firstSeen,
        count,
        nameOf(event),
      ],
    };
  },
};
