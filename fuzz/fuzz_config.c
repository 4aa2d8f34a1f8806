/* libFuzzer driver: deconflictd's configuration file ("key = value" lines) as it reads it
 * (dd_config_parse). Beyond "no crash": a refusal names the line, and an accepted file leaves
 * every value within its documented range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dd_config_t cfg;
    dd_config_default(&cfg);
    char err[512] = "";
    if (!dd_config_parse(&cfg, (const char *)data, size, "fuzz.conf", err, sizeof(err))) {
        if (strncmp(err, "fuzz.conf:", 10) != 0) abort();
        return 0;
    }
    if (cfg.period_s < 0.05 || cfg.period_s > 60 || cfg.m_of_n < 1 || cfg.m_of_n > 4 ||
        cfg.max_body_bytes < 1024 || cfg.n_feeds > DD_FEEDS_MAX ||
        cfg.n_terminal_areas > DD_TERMINAL_AREAS_MAX || cfg.http_threads < 1 ||
        cfg.http_threads > 64 || cfg.report_ahead_max_s > 3600 ||
        !memchr(cfg.data_dir, 0, sizeof(cfg.data_dir)))
        abort();
    return 0;
}
