/* An audit entry's body: see audit_entry.h. */
#include "store/audit_entry.h"

#include <sodium.h>
#include <string.h>

#include "common/textbuf.h"
#include "deconflict/audit.h"
#include "deconflict/timefmt.h"

size_t dc_audit_entry_body(const dc_audit_entry_t *e, char *out, size_t cap)
{
    if (strlen(e->kind) + strlen(e->id) + strlen(e->state) > 300 || e->n_parts > 2) return 0;
    char t[DC_TIME_RFC3339_MAX] = "";
    dc_time_format_rfc3339(e->t_s, t, sizeof(t));
    dc_text_t b = {out, cap, 0};
    dc_text_printf(&b, "{\"actor\":%lld,\"id\":", (long long)e->actor);
    dc_text_json_string(&b, e->id);
    dc_text_printf(&b, ",\"kind\":");
    dc_text_json_string(&b, e->kind);
    dc_text_printf(&b, ",\"parts\":{");
    /* Parts in ascending party id (numerically): one order for a given set of parties. */
    for (size_t k = 0; k < e->n_parts; k++) {
        size_t i = e->n_parts == 2 && e->parts[1].party < e->parts[0].party ? 1 - k : k;
        uint8_t h[DC_AUDIT_HASH_BYTES];
        char hex[2 * DC_AUDIT_HASH_BYTES + 1];
        dc_audit_hash(e->parts[i].view, strlen(e->parts[i].view), h);
        sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
        dc_text_printf(&b, "%s\"%lld\":\"%s\"", k ? "," : "", (long long)e->parts[i].party, hex);
    }
    dc_text_printf(&b, "}");
    if (e->public_key) dc_text_printf(&b, ",\"public_key\":\"%s\"", e->public_key);
    if (e->request) {
        uint8_t rh[DC_AUDIT_HASH_BYTES];
        char rhex[2 * DC_AUDIT_HASH_BYTES + 1];
        dc_audit_hash(e->request, e->request_len, rh);
        sodium_bin2hex(rhex, sizeof(rhex), rh, sizeof(rh));
        dc_text_printf(&b, ",\"request\":{\"hash\":\"%s\",\"signature\":\"%s\"}", rhex,
                       e->request_sig64);
    }
    dc_text_printf(&b, ",\"state\":");
    dc_text_json_string(&b, e->state);
    dc_text_printf(&b, ",\"t\":\"%s\"}", t);
    return dc_text_ok(&b) ? b.len : 0;
}
