/* Exact pairwise prediction: closest point of approach and the interval of simultaneous loss of
 * horizontal and vertical separation under constant-velocity extrapolation.
 *
 * Geometry: both aircraft are carried in ECEF; each moves along the straight line tangent to the
 * ellipsoid at its report position (the first-order approximation of its geodesic). The relative
 * position and velocity are projected onto the tangent plane at the pair's midpoint, and the
 * horizontal problem becomes |r + w t| < R, a quadratic in t. This is correct across the
 * antimeridian and over the poles (there are no longitudes in the arithmetic). The error against
 * the WGS84 geodesic is measured in tests/unit/tactical/test_geodesic.c and stated in
 * docs/tactical.md. */
#include "kinematics.h"

#include "../geo/up_inline.h"

#include <math.h>
#include <string.h>

/* Below this |w|^2 (m^2/s^2) the relative horizontal motion is treated as zero: 1 mm/s. */
#define REL_SPEED2_EPS 1e-6
/* Below this |dvz| (ft/s) the relative vertical motion is treated as zero: 0.06 ft/min. */
#define REL_VS_EPS 1e-3

void kin_from_state(const dc_track_state_t *st, kin_t *k)
{
    dc_vec3_t p, v;
    dc_geo_to_ecef(st->lat_deg, st->lon_deg, &p);
    dc_geo_velocity_ecef(st->lat_deg, st->lon_deg, st->gs_kt, st->trk_deg, &v);
    k->t_s = st->t_s;
    k->p[0] = p.x, k->p[1] = p.y, k->p[2] = p.z;
    k->v[0] = (float)v.x, k->v[1] = (float)v.y, k->v[2] = (float)v.z;
    k->alt_ft = (float)st->alt_ft;
    k->vs_fpm = (float)st->vs_fpm;
}

void pass_params_from_config(const dc_tactical_config_t *cfg, pass_params_t *pp)
{
    pp->r_m = cfg->rpz_nm * DC_M_PER_NM - cfg->htol_m;
    pp->h_ft = cfg->hpz_ft - cfg->vtol_ft;
    pp->lookahead_s = cfg->lookahead_s;
}

void kin_at(const kin_t *k, double t_s, double p[3], double *alt_ft)
{
    double dt = t_s - k->t_s;
    for (int i = 0; i < 3; i++) p[i] = k->p[i] + (double)k->v[i] * dt;
    *alt_ft = (double)k->alt_ft + (double)k->vs_fpm * DC_FTPS_PER_FPM * dt;
}

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* fmin and fmax without their NaN rules, which keep GCC from inlining them (a call each): no
 * value here is NaN (validated inputs, infinities at most). */
static inline double min_d(double a, double b)
{
    return a < b ? a : b;
}
static inline double max_d(double a, double b)
{
    return a > b ? a : b;
}

/* Sets [*lo, *hi] to the open interval of t where |c + 2 b t + a t^2| < 0 has solutions, i.e.
 * where a t^2 + 2 b t + c < 0. Returns false if there is none. Infinite bounds for a ~ 0. */
static bool quad_below_zero(double a, double b, double c, double *lo, double *hi)
{
    if (a < REL_SPEED2_EPS) {
        if (c < 0) {
            *lo = -INFINITY, *hi = INFINITY;
            return true;
        }
        return false;
    }
    double disc = b * b - a * c;
    if (disc <= 0) return false;
    /* Numerically stable roots: q = -(b + sign(b) sqrt(disc)); roots q/a and c/q. */
    double q = -(b + copysign(sqrt(disc), b));
    double r1 = q / a, r2 = (q != 0) ? c / q : -r1;
    *lo = min_d(r1, r2), *hi = max_d(r1, r2);
    return true;
}

/* The vertical half of the test alone: whether the pair's vertical separation is under the
 * minimum at some time within [now, now + T], computed exactly as kin_eval_pair computes it. */
static bool vertical_window(const kin_t *a, const kin_t *b, double now_s, const pass_params_t *pp,
                            double *v_lo, double *v_hi)
{
    double za = (double)a->alt_ft + (double)a->vs_fpm * DC_FTPS_PER_FPM * (now_s - a->t_s);
    double zb = (double)b->alt_ft + (double)b->vs_fpm * DC_FTPS_PER_FPM * (now_s - b->t_s);
    double dz = zb - za;
    double dvz = ((double)b->vs_fpm - (double)a->vs_fpm) * DC_FTPS_PER_FPM;
    if (fabs(dvz) < REL_VS_EPS) {
        *v_lo = -INFINITY, *v_hi = INFINITY;
        return fabs(dz) < pp->h_ft;
    }
    double inv_dvz = 1.0 / dvz;
    double t1 = (-pp->h_ft - dz) * inv_dvz, t2 = (pp->h_ft - dz) * inv_dvz;
    *v_lo = min_d(t1, t2), *v_hi = max_d(t1, t2);
    return (*v_lo < pp->lookahead_s) && (*v_hi > 0);
}

/* The pair test; with full, every field of out whether in conflict or not (dc_tactical_pair
 * shows them), without, out is filled only for a conflict and the work stops as soon as there
 * can be none (the sweep's candidates, most of which are not). One arithmetic for both, so the
 * two always agree. */
static bool eval_pair(const kin_t *a, const kin_t *b, double now_s, const pass_params_t *pp,
                      dc_pair_eval_t *out, bool full)
{
    double v_lo, v_hi;
    bool vertical = vertical_window(a, b, now_s, pp, &v_lo, &v_hi);
    if (!full && !vertical) return false;
    double pa[3], pb[3], za, zb;
    kin_at(a, now_s, pa, &za);
    kin_at(b, now_s, pb, &zb);

    double mid[3], r[3], w[3];
    for (int i = 0; i < 3; i++) {
        mid[i] = 0.5 * (pa[i] + pb[i]);
        r[i] = pb[i] - pa[i];
        w[i] = (double)b->v[i] - (double)a->v[i];
    }
    /* r and w projected onto the tangent plane at mid (their components along the normal taken
     * out), and the quadratic's coefficients from the projections' dot products: with g along
     * the normal, (x.n)(y.n) = (x.g)(y.g) / g.g, so the normal needs no square root. */
    double g[3];
    dc_geo_up_direction(mid[0], mid[1], mid[2], g);
    double gg = dot3(g, g), inv_gg = gg > 0 ? 1.0 / gg : 0.0;
    double rg = dot3(r, g), wg = dot3(w, g);
    double aa = dot3(w, w) - wg * wg * inv_gg, bb = dot3(r, w) - rg * wg * inv_gg,
           rr = dot3(r, r) - rg * rg * inv_gg;
    double dz = zb - za;
    double dvz = ((double)b->vs_fpm - (double)a->vs_fpm) * DC_FTPS_PER_FPM;

    double h_lo, h_hi, lo = 0, hi = 0;
    bool horizontal = quad_below_zero(aa, bb, rr - pp->r_m * pp->r_m, &h_lo, &h_hi);
    bool conflict = false;
    if (vertical && horizontal) {
        lo = max_d(h_lo, v_lo), hi = min_d(h_hi, v_hi);
        /* Both sets are open intervals; their intersection meets [0, T] iff this holds. */
        conflict = lo < hi && lo < pp->lookahead_s && hi > 0;
    }
    if (!full && !conflict) return false;
    memset(out, 0, sizeof(*out));
    out->hsep_nm = sqrt(rr) / DC_M_PER_NM;
    out->vsep_ft = fabs(dz);
    /* Closest approach within the look-ahead: beyond it the straight-line model says nothing
     * useful (two aircraft flying north on parallel meridians "meet" hours later at the pole). */
    out->tcpa_s = aa >= REL_SPEED2_EPS ? min_d(max_d(0.0, -bb / aa), pp->lookahead_s) : 0.0;
    double dcpa2 = rr + 2 * bb * out->tcpa_s + aa * out->tcpa_s * out->tcpa_s;
    out->dcpa_nm = sqrt(max_d(0.0, dcpa2)) / DC_M_PER_NM;
    out->vcpa_ft = fabs(dz + dvz * out->tcpa_s);
    out->los_now = rr < pp->r_m * pp->r_m && fabs(dz) < pp->h_ft;
    if (!conflict) return false;
    out->conflict = true;
    out->tin_s = max_d(lo, 0.0);
    out->tout_s = min_d(hi, pp->lookahead_s);
    return true;
}

bool kin_eval_pair(const kin_t *a, const kin_t *b, double now_s, const pass_params_t *pp,
                   dc_pair_eval_t *out)
{
    return eval_pair(a, b, now_s, pp, out, true);
}

bool kin_test_pair(const kin_t *a, const kin_t *b, double now_s, const pass_params_t *pp,
                   dc_pair_eval_t *out)
{
    return eval_pair(a, b, now_s, pp, out, false);
}
