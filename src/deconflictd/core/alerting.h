/* deconflictd: the alerting layer (deconflict/alerting.h) of each tactical engine, configured
 * from the service's settings (warning_s, m_of_4, hysteresis_s), with the service's rule for a
 * pair: cross-party pairs of two aircraft only -- never one aircraft that two parties' receivers
 * both name by its ICAO address --, each judged by one engine (pairs near or above FL410 by the
 * high one) under its airspace's minima (core/airspace.h). */
#ifndef DD_CORE_ALERTING_H
#define DD_CORE_ALERTING_H

#include "core/airspace.h"
#include "core/state.h"

/* The alerting layer of the main engine (high: the high one) for minima; NULL without memory. */
dc_alerting_t *dd_alerting_for_engine(dd_service_t *svc, const dc_tactical_config_t *minima,
                                      bool high);

#endif
