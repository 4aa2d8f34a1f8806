/* Internal to lib/tactical: the kinematic state the engine stores per track and the exact pair
 * evaluation on it. Not part of the public API. */
#ifndef DC_TACTICAL_KINEMATICS_H
#define DC_TACTICAL_KINEMATICS_H

#include "deconflict/geo.h"
#include "deconflict/tactical.h"

/* A report converted once to ECEF: 72 bytes, no trigonometry needed afterwards. float suffices
 * for velocity (relative error 6e-8: millimetres over minutes) and altitude (4e-3 ft at 50,000). */
typedef struct kin {
    double t_s;   /* report time */
    double p[3];  /* position on the ellipsoid at t_s, ECEF m */
    float v[3];   /* horizontal velocity, ECEF m/s */
    float alt_ft; /* altitude at t_s */
    float vs_fpm; /* vertical rate */
} kin_t;

/* The thresholds of one pass in internal units. */
typedef struct pass_params {
    double r_m;         /* R - htol, metres */
    double h_ft;        /* H - vtol, feet */
    double lookahead_s; /* T */
} pass_params_t;

void kin_from_state(const dc_track_state_t *st, kin_t *k);
void pass_params_from_config(const dc_tactical_config_t *cfg, pass_params_t *pp);

/* Position (m) and altitude (ft) of k extrapolated to time t_s. */
void kin_at(const kin_t *k, double t_s, double p[3], double *alt_ft);

/* Evaluates the pair (a, b) at now_s; fills out and returns out->conflict. */
bool kin_eval_pair(const kin_t *a, const kin_t *b, double now_s, const pass_params_t *pp,
                   dc_pair_eval_t *out);

/* The same test, for the sweep: out is filled only when the pair is in conflict (then exactly as
 * kin_eval_pair fills it), and the work stops as soon as it cannot be (the vertical test
 * first, which needs no geometry). */
bool kin_test_pair(const kin_t *a, const kin_t *b, double now_s, const pass_params_t *pp,
                   dc_pair_eval_t *out);

#endif
