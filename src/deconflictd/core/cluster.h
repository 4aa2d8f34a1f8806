/* deconflictd: several nodes on one shared store (PostgreSQL; docs/deployment.md).
 *
 * Any node accepts any request. What a node holds in memory -- the operations and the strategic
 * engine, the open conflicts, the agreements, the messages' deadlines, the tracks and the
 * tactical engines -- is a copy of the store that the other nodes also change, so a node
 * catches up before it writes: each write takes the writers' turn on the store (the store's
 * begin), reads what was written since it last looked (the audit log names every document
 * changed, in commit order; tracks carry the revision of the transaction that wrote them) and
 * applies it, then writes. So every write is decided on the whole, current state, as on one
 * node. Between writes a node catches up on each periodic pass.
 *
 * One node at a time runs the periodic pass (detection, conformance, deadlines, escalation):
 * the one that holds the lease in the store, renewed every pass, taken by another node once it
 * has not been renewed for leader_lease_s. The pass checks the lease again inside its write, so
 * a leader that lost it (paused past its lease) writes nothing. A node that takes the lead
 * rebuilds the pass's bookkeeping from the open conflicts, as a restart does. */
#ifndef DD_CORE_CLUSTER_H
#define DD_CORE_CLUSTER_H

#include "core/state.h"

/* Applies what other nodes wrote since this node last looked, before a write. DC_ERR_UNAVAILABLE
 * when the state in memory is not trusted (the store's connection was made again, or a write
 * could not be kept: svc->reload_wanted) and has yet to be read anew. Under the service lock. */
dc_err_t dd_cluster_catch_up(dd_service_t *svc);

/* Reads every module's state anew from the store when it is not trusted (see above); the
 * periodic pass calls it first, under the service lock, before its engines are used, since a
 * reload replaces them. */
dc_err_t dd_cluster_reload(dd_service_t *svc);

/* Takes or renews the lead at now; on taking it, rebuilds the pass's bookkeeping, on losing it,
 * drops it. Returns whether this node leads. Under the service lock, outside a transaction. */
bool dd_cluster_lead(dd_service_t *svc, double now);

/* Within the pass's write: whether this node still holds the lease (renewed); stepping down
 * when not. */
bool dd_cluster_still_leads(dd_service_t *svc);

/* At open: what there is to catch up from (the store's heads before it is read), the node's
 * name, the hook. Before the modules restore. */
bool dd_cluster_open(dd_service_t *svc);

#endif
