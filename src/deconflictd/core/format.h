/* deconflictd: the two text forms every document and event of the domain uses -- times as RFC
 * 3339, JSON as compact text with reals to 12 significant digits, and an aircraft's state as
 * views disclose it. */
#ifndef DD_CORE_FORMAT_H
#define DD_CORE_FORMAT_H

#include "deconflict/tactical.h"

typedef struct json_t json_t;

/* t_s (Unix seconds) as RFC 3339 into buf ("" when out of range); returns buf. */
char *dd_time_text(double t_s, char buf[40]);

/* json's compact text; NULL on no memory. The caller frees it. */
char *dd_json_text(json_t *json);

/* A state's kinematic fields as a view shows them (time, position, altitude, velocity): never
 * its id. New reference, NULL on no memory. */
json_t *dd_state_json(const dc_track_state_t *st);

#endif
