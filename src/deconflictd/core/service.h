/* deconflictd's domain opened and closed: the store claimed and its connections opened, every
 * module's state restored from it as a restart restores it, and all of it released again. The
 * top of core/: it includes every module, and nothing in core/ includes it. */
#ifndef DD_CORE_SERVICE_H
#define DD_CORE_SERVICE_H

#include <stddef.h>

#include "core/state.h"

/* Opens the store in cfg->data_dir, claims it (one process serves a store), restores every
 * module's state as of now. false with a sentence in err (then dd_service_close frees what was
 * made). */
bool dd_service_open(dd_service_t *svc, const dd_config_t *cfg, double now, char *err, size_t len);

/* Makes everything durable and frees it all. Call once nothing else runs on svc. */
void dd_service_close(dd_service_t *svc);

#endif
