/* Who may hold what of the server (src/deconflictd/http/access.c): every party is rate-limited, the
 * thousandth as the first (a fixed table of 256 buckets once let every later party through);
 * unproven connections give way -- the oldest of an address over its share, the oldest anywhere
 * when the server is full -- while parties' connections are never evicted. Sockets are real
 * (socket pairs): an eviction is seen as the end of the stream on the peer. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/access.h"

static void test_every_party_is_limited(void **state)
{
    (void)state;
    dd_access_config_t cfg = {.max_connections = 100,
                              .max_unproven_per_address = 10,
                              .rate_rps = 2,
                              .rate_burst = 3,
                              .max_streams_party = 2};
    dd_access_t *a = dd_access_new(&cfg);
    double retry;
    /* A thousand parties, in a shuffled order, each with its burst of 3 and no more. */
    for (int round = 0; round < 2; round++)
        for (int64_t k = 0; k < 1000; k++) {
            int64_t party = (k * 7919) % 1000 + 1;
            for (int i = 0; i < 3 && round == 0; i++)
                assert_true(dd_access_rate(a, party, 100, &retry));
            if (!dd_access_rate(a, party, 100, &retry))
                assert_near(retry, 0.5, 1e-9);
            else
                fail_msg("party %lld was not limited after its burst", (long long)party);
        }
    /* Tokens come back at the rate: a second later, two more. */
    assert_true(dd_access_rate(a, 999, 101, &retry));
    assert_true(dd_access_rate(a, 999, 101, &retry));
    assert_false(dd_access_rate(a, 999, 101, &retry));
    /* Streams per party. */
    assert_true(dd_access_stream_open(a, 500));
    assert_true(dd_access_stream_open(a, 500));
    assert_false(dd_access_stream_open(a, 500));
    dd_access_stream_close(a, 500);
    assert_true(dd_access_stream_open(a, 500));
    dd_access_free(a);
}

static struct sockaddr_in addr_of(const char *ip)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &sa.sin_addr);
    return sa;
}

/* Whether the server side of pair p was shut down: its peer reads the end of the stream. */
static bool was_shut(int peer)
{
    struct pollfd pf = {.fd = peer, .events = POLLIN};
    char c;
    return poll(&pf, 1, 0) == 1 && read(peer, &c, 1) == 0;
}

typedef struct conn {
    int fd[2];
    dd_conn_t *rec;
} conn_t;

static conn_t open_conn(dd_access_t *a, const char *ip, bool *admitted)
{
    conn_t c;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, c.fd), 0);
    struct sockaddr_in sa = addr_of(ip);
    *admitted = dd_access_admit(a, (struct sockaddr *)&sa, sizeof(sa));
    c.rec = *admitted ? dd_access_opened(a, c.fd[0], (struct sockaddr *)&sa, 0) : NULL;
    return c;
}

static void close_conn(dd_access_t *a, conn_t *c)
{
    dd_access_closed(a, c->rec);
    close(c->fd[0]), close(c->fd[1]);
}

static void test_strangers_give_way(void **state)
{
    (void)state;
    dd_access_config_t cfg = {.max_connections = 20,
                              .max_unproven_per_address = 5,
                              .rate_rps = 0,
                              .rate_burst = 1,
                              .max_streams_party = 1};
    dd_access_t *a = dd_access_new(&cfg);
    conn_t c[64];
    bool ok;
    /* A party's connection from the flooding address, proven by a request. */
    c[0] = open_conn(a, "10.0.0.1", &ok);
    assert_true(ok);
    dd_access_proven(a, c[0].rec);
    /* The address opens 5 more (its share), then 5 more: each new one evicts its oldest. */
    for (int i = 1; i <= 10; i++) {
        c[i] = open_conn(a, "10.0.0.1", &ok);
        assert_true(ok);
    }
    for (int i = 1; i <= 5; i++) assert_true(was_shut(c[i].fd[1]));
    for (int i = 6; i <= 10; i++) assert_false(was_shut(c[i].fd[1]));
    assert_false(was_shut(c[0].fd[1])); /* the party's is never evicted */
    dd_access_stats_t st;
    dd_access_stats(a, &st);
    assert_int_equal(st.evicted, 5);
    assert_int_equal(st.unproven, 5);
    for (int i = 1; i <= 5; i++) close_conn(a, &c[i]); /* the server closes the evicted */
    /* Other addresses fill the server (20): the oldest unproven anywhere gives way. */
    for (int i = 11; i <= 24; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.0.1.%d", i);
        c[i] = open_conn(a, ip, &ok);
        assert_true(ok);
    }
    dd_access_stats(a, &st);
    assert_int_equal(st.connections, 20);
    c[25] = open_conn(a, "10.0.2.1", &ok);
    assert_true(ok);
    assert_true(was_shut(c[6].fd[1])); /* the oldest unproven: 10.0.0.1's sixth */
    assert_false(was_shut(c[0].fd[1]));
    close_conn(a, &c[6]);
    /* When every connection held is a party's, a newcomer is refused. */
    dd_access_t *b = dd_access_new(&cfg);
    conn_t p[20];
    for (int i = 0; i < 20; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.0.3.%d", i);
        p[i] = open_conn(b, ip, &ok);
        assert_true(ok);
        dd_access_proven(b, p[i].rec);
    }
    conn_t late = open_conn(b, "10.0.4.1", &ok);
    assert_false(ok);
    dd_access_stats(b, &st);
    assert_int_equal(st.refused, 1);
    close(late.fd[0]), close(late.fd[1]);
    for (int i = 0; i < 20; i++) close_conn(b, &p[i]);
    dd_access_free(b);
    close_conn(a, &c[0]);
    for (int i = 7; i <= 25; i++)
        if (i != 6) close_conn(a, &c[i]);
    dd_access_stats(a, &st);
    assert_int_equal(st.connections, 0);
    assert_int_equal(st.unproven, 0);
    dd_access_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_party_is_limited),
        cmocka_unit_test(test_strangers_give_way),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
