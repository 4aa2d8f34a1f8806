/* libFuzzer driver: deconflictd's configuration file ("key = value" lines) as it reads it
 * (dd_config_parse). Beyond "no crash": a refusal names the line, and an accepted file leaves
 * every value within its documented range. The same bytes as a token file's text
 * (dc_token_take_line: the metrics token, the CLI's --token-file): a token taken is 16-127
 * printable characters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "deconflict/secretfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char token[DC_TOKEN_FILE_MAX + 1];
    if (dc_token_take_line(text, token)) {
        size_t n = strlen(token);
        if (n < 16 || n > DC_TOKEN_FILE_MAX) abort();
        for (size_t i = 0; i < n; i++)
            if (token[i] <= ' ' || token[i] >= 127) abort();
    }
    free(text);
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
