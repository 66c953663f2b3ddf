/* Unit tests of the streaming loader insertion scanner (lib/ss_html_scan.h).
 *
 * The filter is emulated exactly (filter_emulate): pass on what the scanner
 * releases, hold back the rest, insert MARK at the insertion point, release
 * what is held at the end of the stream.  Its output must equal a
 * non-streaming search of the whole document (reference_insert) however the
 * document is cut into chunks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "ss_html_scan.h"

#define MARK "<!--TAGS-->"
#define MARK_LEN (sizeof(MARK) - 1)
#define DOC_MAX 1024                    /* longest test document */
#define OUT_MAX (DOC_MAX + MARK_LEN + 1)
#define CUTS_MAX (4 * DOC_MAX + 4)      /* chunk lengths of one splitting */

/* ---- fixed-seed PRNG (xorshift64*): same sequence on every platform ---- */

static uint64_t prng_state;

static void prng_seed(uint64_t seed)
{
    prng_state = seed ? seed : 1;
}

static uint32_t prng_next(void)
{
    prng_state ^= prng_state >> 12;
    prng_state ^= prng_state << 25;
    prng_state ^= prng_state >> 27;
    return (uint32_t)((prng_state * 2685821657736338717ULL) >> 32);
}

static size_t prng_below(size_t n)
{
    return n ? (size_t)(prng_next() % n) : 0;
}

/* ---- output buffer ---- */

typedef struct out_buf {
    char data[OUT_MAX];
    size_t len;
} out_buf;

static void out_put(out_buf *o, const char *p, size_t n)
{
    assert_true(o->len + n <= sizeof(o->data) - 1);
    if (n)
        memcpy(o->data + o->len, p, n);
    o->len += n;
    o->data[o->len] = '\0';
}

/* ---- non-streaming reference: search the whole document ---- */

#include "html_scan_reference.h"

static void reference_insert(const char *doc, size_t len, out_buf *o)
{
    long at = reference_find(doc, len);

    o->len = 0;
    o->data[0] = '\0';
    if (at < 0) {
        out_put(o, doc, len);
        return;
    }
    out_put(o, doc, (size_t)at);
    out_put(o, MARK, MARK_LEN);
    out_put(o, doc + at, len - (size_t)at);
}

/* ---- the filter, emulated ---- */

typedef struct emu_stats {
    size_t max_hold;    /* most bytes the scanner ever asked to hold */
    int found;
    int csp_meta;       /* a Content-Security-Policy <meta> stopped the search */
} emu_stats;

/* Feeds doc cut into ncuts chunks of the given lengths (they must sum to
 * len; 0 is an empty chunk, passed as NULL when null_empty) and rebuilds
 * the output the way the filter does.  Each chunk is copied to its own
 * exact-size allocation so that sanitizers see any read past its end. */
static void filter_emulate(const char *doc, size_t len, const size_t *cuts,
                           size_t ncuts, int null_empty, out_buf *o,
                           emu_stats *st)
{
    ss_html_scan scan;
    char held[SS_HTML_SCAN_MAX_HOLD];
    size_t nheld = 0;
    size_t off = 0;
    int done = 0;

    o->len = 0;
    o->data[0] = '\0';
    st->max_hold = 0;
    st->found = 0;
    st->csp_meta = 0;
    ss_html_scan_init(&scan);
    assert_int_equal(scan.held, 0);

    for (size_t k = 0; k < ncuts; k++) {
        size_t n = cuts[k];
        char *chunk = NULL;
        ss_html_scan_result r;

        assert_true(off + n <= len);
        if (n || !null_empty) {
            chunk = malloc(n ? n : 1);
            assert_non_null(chunk);
            if (n)
                memcpy(chunk, doc + off, n);
        }
        off += n;

        if (done) {     /* the real filter has removed itself by now */
            out_put(o, chunk, n);
            free(chunk);
            continue;
        }

        memset(&r, 0xa5, sizeof(r));    /* every field must be set */
        ss_html_scan_feed(&scan, chunk, n, &r);
        assert_true(r.found == 0 || r.found == 1);
        assert_true(r.csp_meta == 0 || r.csp_meta == 1);

        if (r.csp_meta) {
            /* no insertion: held bytes, then all of the chunk, then the rest */
            assert_false(r.found);
            assert_false(r.held_in_tag);
            assert_int_equal(r.pos, n);
            assert_int_equal(r.release_held, nheld > 0);
            assert_int_equal(scan.held, 0);
            out_put(o, held, nheld);
            out_put(o, chunk, n);
            nheld = 0;
            done = 1;
            st->csp_meta = 1;
        }
        else if (r.found) {
            assert_int_equal(scan.held, 0);
            if (r.held_in_tag) {
                assert_true(nheld > 0);
                assert_false(r.release_held);
                out_put(o, MARK, MARK_LEN);
                out_put(o, held, nheld);
                out_put(o, chunk, n);
            }
            else {
                assert_true(r.pos < n);
                assert_int_equal(r.release_held, nheld > 0);
                out_put(o, held, nheld);
                out_put(o, chunk, r.pos);
                out_put(o, MARK, MARK_LEN);
                out_put(o, chunk + r.pos, n - r.pos);
            }
            nheld = 0;
            done = 1;
            st->found = 1;
        }
        else {
            assert_false(r.held_in_tag);
            assert_true(r.pos <= n);
            if (r.release_held) {
                assert_true(nheld > 0);
                out_put(o, held, nheld);
                nheld = 0;
            }
            /* Held bytes still held: the chunk can only extend them. */
            if (nheld > 0)
                assert_int_equal(r.pos, 0);
            out_put(o, chunk, r.pos);
            assert_true(nheld + (n - r.pos) <= SS_HTML_SCAN_MAX_HOLD);
            if (n > r.pos)
                memcpy(held + nheld, chunk + r.pos, n - r.pos);
            nheld += n - r.pos;
            assert_int_equal(scan.held, nheld);
            /* A candidate: one '<', at its start. */
            if (nheld > 0) {
                assert_int_equal(held[0], '<');
                assert_null(memchr(held + 1, '<', nheld - 1));
            }
            if (nheld > st->max_hold)
                st->max_hold = nheld;
        }
        free(chunk);
    }
    assert_int_equal(off, len);
    out_put(o, held, nheld);    /* end of stream: what is held goes out */
}

/* Output of the emulated filter must equal the reference. */
static void check_split(const char *doc, size_t len, const size_t *cuts,
                        size_t ncuts, int null_empty, const out_buf *want)
{
    out_buf got;
    emu_stats st;

    filter_emulate(doc, len, cuts, ncuts, null_empty, &got, &st);
    assert_true(st.max_hold <= SS_HTML_SCAN_MAX_HOLD);
    /* the scanner says why it did not insert exactly when the reference does */
    assert_int_equal(st.csp_meta, reference_find(doc, len) == -2);
    if (got.len != want->len || memcmp(got.data, want->data, got.len) != 0) {
        fprintf(stderr, "# doc   \"%.*s\"\n# cuts ", (int)len, doc);
        for (size_t k = 0; k < ncuts; k++)
            fprintf(stderr, " %zu", cuts[k]);
        fprintf(stderr, "\n# got   \"%s\"\n# want  \"%s\"\n", got.data, want->data);
    }
    assert_int_equal(got.len, want->len);
    assert_memory_equal(got.data, want->data, got.len);
}

/* Random chunk lengths summing to len; empty chunks when allow_empty. */
static size_t random_cuts(size_t len, int allow_empty, size_t *cuts)
{
    size_t n = 0, left = len;
    size_t maxc = 1 + prng_below(len + 1);   /* vary the typical chunk size */

    do {
        size_t c = prng_below(maxc + 1);
        if (!allow_empty && c == 0)
            c = 1;
        if (c > left)
            c = left;
        assert_true(n < CUTS_MAX);
        cuts[n++] = c;
        left -= c;
    } while (left > 0);
    return n;
}

/* ---- the table of documents ---- */

typedef struct doc_case {
    const char *doc;
    const char *want;   /* doc with MARK at the insertion point, or doc itself */
} doc_case;

static const doc_case docs[] = {
    { "<html><head><title>t</title></head><body>x</body></html>",
      "<html><head><title>t</title>" MARK "</head><body>x</body></html>" },
    { "<HTML><HEAD></HEAD><BODY></BODY></HTML>",
      "<HTML><HEAD>" MARK "</HEAD><BODY></BODY></HTML>" },
    { "<html><head></HeAd><body>", "<html><head>" MARK "</HeAd><body>" },
    { "<head></head >", "<head>" MARK "</head >" },
    { "<head></head\n>", "<head>" MARK "</head\n>" },
    { "<head></head\t>", "<head>" MARK "</head\t>" },
    { "<head></head\r\n>", "<head>" MARK "</head\r\n>" },
    { "<head></head\f>", "<head>" MARK "</head\f>" },
    { "<html><body><p>hi</p></body></html>", "<html>" MARK "<body><p>hi</p></body></html>" },
    { "<html><body class=x><p>hi</body>", "<html>" MARK "<body class=x><p>hi</body>" },
    { "<BoDy\nclass=x>", MARK "<BoDy\nclass=x>" },
    { "<body></head>", MARK "<body></head>" },
    { "<p>just a fragment</p><div>no head</div>", "<p>just a fragment</p><div>no head</div>" },
    { "<head><header>h</header></head>", "<head><header>h</header>" MARK "</head>" },
    { "<bodyx><body>", "<bodyx>" MARK "<body>" },
    { "</heading></head>", "</heading>" MARK "</head>" },
    { "</headx></head>", "</headx>" MARK "</head>" },
    { "<body-x><bod><body>", "<body-x><bod>" MARK "<body>" },
    { "</head/></head\v></head>", "</head/></head\v>" MARK "</head>" },
    { "<<body>", "<" MARK "<body>" },
    { "</</head>", "</" MARK "</head>" },
    { "<</head>", "<" MARK "</head>" },
    { "</hea<body>", "</hea" MARK "<body>" },
    { "</head<body>", "</head" MARK "<body>" },
    { "<body<body>", "<body" MARK "<body>" },
    { "<b<body>", "<b" MARK "<body>" },
    { "</head>", MARK "</head>" },
    { "<body>", MARK "<body>" },
    { "<body ", MARK "<body " },
    { "<html><head>x</head", "<html><head>x</head" },
    { "<html><body", "<html><body" },
    { "<html></hea", "<html></hea" },
    { "<", "<" },
    { "", "" },
    { "no tags at all", "no tags at all" },
    { "<head>\xc3\xa9</head>", "<head>\xc3\xa9" MARK "</head>" },
    { "</\xe8" "ead></head>", "</\xe8" "ead>" MARK "</head>" },
    { "<h1></h1></head>", "<h1></h1>" MARK "</head>" },
    /* comments */
    { "<html><head><!-- </head> --></head>", "<html><head><!-- </head> -->" MARK "</head>" },
    { "<!-- <body> --><body>", "<!-- <body> -->" MARK "<body>" },
    { "<!--></head>", "<!-->" MARK "</head>" },
    { "<!---></head>", "<!--->" MARK "</head>" },
    { "<!----></head>", "<!---->" MARK "</head>" },
    { "<!-- a --!></head>", "<!-- a --!>" MARK "</head>" },
    { "<!-- a --!-- </head> --></head>", "<!-- a --!-- </head> -->" MARK "</head>" },
    { "<!-- -- > </head> --></head>", "<!-- -- > </head> -->" MARK "</head>" },
    { "<!-- <!-- </head> --></head>", "<!-- <!-- </head> -->" MARK "</head>" },
    { "<!-- </head>", "<!-- </head>" },
    { "<!DOCTYPE html><html></head>", "<!DOCTYPE html><html>" MARK "</head>" },
    { "<?xml version=\"1.0\"?><html></head>", "<?xml version=\"1.0\"?><html>" MARK "</head>" },
    { "<!x </head> y></head>", "<!x </head> y>" MARK "</head>" },
    { "<!-x </head>></head>", "<!-x </head>>" MARK "</head>" },
    { "<!></head>", "<!>" MARK "</head>" },
    /* raw text */
    { "<head><script>var s=\"<body>\";</script></head>",
      "<head><script>var s=\"<body>\";</script>" MARK "</head>" },
    { "<script>a=\"</head>\"</script><body>", "<script>a=\"</head>\"</script>" MARK "<body>" },
    { "<SCRIPT type=\"x\">document.write('</HEAD>')</SCRIPT ></head>",
      "<SCRIPT type=\"x\">document.write('</HEAD>')</SCRIPT >" MARK "</head>" },
    { "<script>if (a<b) x = '</scriptx></head>'</script\n></head>",
      "<script>if (a<b) x = '</scriptx></head>'</script\n>" MARK "</head>" },
    { "<script data-x=\"a>b\">s='</head>'</script></head>",
      "<script data-x=\"a>b\">s='</head>'</script>" MARK "</head>" },
    { "<script data-x='/>'>s='</head>'</script></head>",
      "<script data-x='/>'>s='</head>'</script>" MARK "</head>" },
    { "<script src=\"a.js\"/></head>", "<script src=\"a.js\"/>" MARK "</head>" },
    { "<script src=a.js / ></head></script></head>",
      "<script src=a.js / ></head></script>" MARK "</head>" },
    { "<script/></head>", "<script/>" MARK "</head>" },
    { "<style>p::after{content:\"</head>\"}</style></head>",
      "<style>p::after{content:\"</head>\"}</style>" MARK "</head>" },
    { "<title>a </head> b</title></head>", "<title>a </head> b</title>" MARK "</head>" },
    { "<textarea><body></textarea><body>", "<textarea><body></textarea>" MARK "<body>" },
    { "<script>var s=\"</head>\"", "<script>var s=\"</head>\"" },
    { "<script </head>", "<script </head>" },
    { "<scripts></head>", "<scripts>" MARK "</head>" },
    { "<titles></head>", "<titles>" MARK "</head>" },
    { "<s<body>", "<s" MARK "<body>" },
    { "<script>x</style></head></script></head>",
      "<script>x</style></head></script>" MARK "</head>" },
    /* a policy in the page's head: nothing goes in */
    { "<head><meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'self'\"></head>",
      "<head><meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'self'\"></head>" },
    { "<HEAD><META HTTP-EQUIV=content-security-policy CONTENT=x></HEAD>",
      "<HEAD><META HTTP-EQUIV=content-security-policy CONTENT=x></HEAD>" },
    { "<meta content=\"x\" http-equiv = 'CONTENT-SECURITY-POLICY' /></head>",
      "<meta content=\"x\" http-equiv = 'CONTENT-SECURITY-POLICY' /></head>" },
    { "<meta/http-equiv=Content-Security-Policy></head>",
      "<meta/http-equiv=Content-Security-Policy></head>" },
    { "<meta\nhttp-equiv=\"content-security-policy\"", "<meta\nhttp-equiv=\"content-security-policy\"" },
    /* ... and what is no such policy */
    { "<head><meta http-equiv=\"Content-Security-Policy-Report-Only\" content=\"x\"></head>",
      "<head><meta http-equiv=\"Content-Security-Policy-Report-Only\" content=\"x\">" MARK "</head>" },
    { "<meta name=\"http-equiv\" content=\"Content-Security-Policy\"></head>",
      "<meta name=\"http-equiv\" content=\"Content-Security-Policy\">" MARK "</head>" },
    { "<meta http-equiv=refresh content=content-security-policy></head>",
      "<meta http-equiv=refresh content=content-security-policy>" MARK "</head>" },
    { "<meta http-equivx=Content-Security-Policy><meta http-equiv=\"\"></head>",
      "<meta http-equivx=Content-Security-Policy><meta http-equiv=\"\">" MARK "</head>" },
    { "<meta http-equiv=Content-Security-Policyx></head>",
      "<meta http-equiv=Content-Security-Policyx>" MARK "</head>" },
    { "<meta =http-equiv=Content-Security-Policy></head>",
      "<meta =http-equiv=Content-Security-Policy>" MARK "</head>" },
    { "<metax http-equiv=Content-Security-Policy></head>",
      "<metax http-equiv=Content-Security-Policy>" MARK "</head>" },
    { "<body><meta http-equiv=Content-Security-Policy>",
      MARK "<body><meta http-equiv=Content-Security-Policy>" },
    { "<!-- <meta http-equiv=Content-Security-Policy> --></head>",
      "<!-- <meta http-equiv=Content-Security-Policy> -->" MARK "</head>" },
    { "<script><meta http-equiv=Content-Security-Policy></script></head>",
      "<script><meta http-equiv=Content-Security-Policy></script>" MARK "</head>" },
    /* a <meta>'s attribute values are no markup */
    { "<meta content=\"</head>\"></head>", "<meta content=\"</head>\">" MARK "</head>" },
    { "<meta charset=utf-8></head>", "<meta charset=utf-8>" MARK "</head>" },
};
#define NDOCS (sizeof(docs) / sizeof(docs[0]))

/* The reference itself agrees with the hand-written expectations. */
static void test_reference_matches_table(void **unused)
{
    for (size_t d = 0; d < NDOCS; d++) {
        out_buf ref;
        size_t len = strlen(docs[d].doc);

        reference_insert(docs[d].doc, len, &ref);
        assert_string_equal(ref.data, docs[d].want);
    }
}

static void test_table_whole(void **unused)
{
    for (size_t d = 0; d < NDOCS; d++) {
        out_buf want;
        size_t len = strlen(docs[d].doc);
        size_t cuts[1] = { len };

        reference_insert(docs[d].doc, len, &want);
        assert_string_equal(want.data, docs[d].want);
        check_split(docs[d].doc, len, cuts, 1, 0, &want);
    }
}

static void test_table_every_two_way_split(void **unused)
{
    for (size_t d = 0; d < NDOCS; d++) {
        out_buf want;
        size_t len = strlen(docs[d].doc);

        reference_insert(docs[d].doc, len, &want);
        assert_string_equal(want.data, docs[d].want);
        for (size_t at = 0; at <= len; at++) {
            size_t cuts[2] = { at, len - at };
            check_split(docs[d].doc, len, cuts, 2, 0, &want);
        }
    }
}

static void test_table_byte_per_chunk(void **unused)
{
    static size_t cuts[CUTS_MAX];

    for (size_t d = 0; d < NDOCS; d++) {
        out_buf want;
        size_t len = strlen(docs[d].doc);

        reference_insert(docs[d].doc, len, &want);
        assert_string_equal(want.data, docs[d].want);
        for (size_t k = 0; k < len; k++)
            cuts[k] = 1;
        check_split(docs[d].doc, len, cuts, len, 0, &want);
    }
}

static void test_table_random_splits(void **unused)
{
    static size_t cuts[CUTS_MAX];

    prng_seed(0x5e55105eedULL);
    for (size_t d = 0; d < NDOCS; d++) {
        out_buf want;
        size_t len = strlen(docs[d].doc);

        reference_insert(docs[d].doc, len, &want);
        assert_string_equal(want.data, docs[d].want);
        for (int rep = 0; rep < 1000; rep++) {
            size_t n = random_cuts(len, 0, cuts);
            check_split(docs[d].doc, len, cuts, n, 0, &want);
        }
    }
}

static void test_table_empty_chunks(void **unused)
{
    static size_t cuts[CUTS_MAX];

    prng_seed(0xe3b7c4a1ULL);
    for (size_t d = 0; d < NDOCS; d++) {
        out_buf want;
        size_t len = strlen(docs[d].doc);
        size_t n = 0;

        reference_insert(docs[d].doc, len, &want);
        assert_string_equal(want.data, docs[d].want);

        /* Empty chunks first, between every byte and last; NULL or not. */
        cuts[n++] = 0;
        for (size_t k = 0; k < len; k++) {
            cuts[n++] = 1;
            cuts[n++] = 0;
            cuts[n++] = 0;
        }
        check_split(docs[d].doc, len, cuts, n, 1, &want);
        check_split(docs[d].doc, len, cuts, n, 0, &want);

        for (int rep = 0; rep < 200; rep++) {
            n = random_cuts(len, 1, cuts);
            check_split(docs[d].doc, len, cuts, n, rep & 1, &want);
        }
    }
}

/* ---- random documents ---- */

static const char *const pieces[] = {
    "<", "</", "head", "HEAD", "body", "BoDy", ">", " ", "\n", "x",
    "<header>", "</head>", "<body>", "</hea", "<bod", "d", "y", "\t",
    "\f", "\v", "/", "hEaD",
    /* comments, bogus comments, raw text */
    "<!--", "-->", "-", "--", "!", "<!", "<?", "--!>", "<!-->",
    "<script>", "</script>", "<SCRIPT", "script", "<style ", "</style",
    "<title>", "</TITLE>", "<textarea/>", "\"", "'", "/>", "<s", "<t",
    /* <meta> and what makes it a policy */
    "<meta ", "<META", "http-equiv", "HTTP-EQUIV=", "=", "content-security-policy",
    "Content-Security-Policy", "=\"", "<meta http-equiv=",
    "<meta http-equiv=content-security-policy>", "<meta http-equiv='Content-Security-Policy' ",
};
#define NPIECES (sizeof(pieces) / sizeof(pieces[0]))

static void test_random_documents(void **unused)
{
    static char doc[DOC_MAX];
    static size_t cuts[CUTS_MAX];
    int seen_found = 0, seen_not_found = 0, seen_csp = 0;

    prng_seed(0xd0c5d0c5ULL);
    for (int n_doc = 0; n_doc < 2000; n_doc++) {
        size_t len = 0, npieces = prng_below(40);
        out_buf want;

        for (size_t k = 0; k < npieces; k++) {
            /* Mostly the tag-like pieces, so near misses are common. */
            const char *piece = pieces[prng_below(NPIECES)];
            size_t pl = strlen(piece);
            assert_true(len + pl <= sizeof(doc));
            memcpy(doc + len, piece, pl);
            len += pl;
        }
        reference_insert(doc, len, &want);
        if (reference_find(doc, len) >= 0)
            seen_found++;
        else
            seen_not_found++;
        seen_csp += reference_find(doc, len) == -2;

        {
            size_t whole[1] = { len };
            check_split(doc, len, whole, 1, 0, &want);
        }
        for (size_t k = 0; k < len; k++)
            cuts[k] = 1;
        check_split(doc, len, cuts, len, 0, &want);
        for (int rep = 0; rep < 20; rep++) {
            size_t n = random_cuts(len, rep & 1, cuts);
            check_split(doc, len, cuts, n, 0, &want);
        }
    }
    /* The generator exercises both outcomes. */
    assert_true(seen_found > 200);
    assert_true(seen_not_found > 200);
    assert_true(seen_csp > 200);
}

/* ---- the result protocol, call by call ---- */

static void feed_str(ss_html_scan *s, const char *str, ss_html_scan_result *r)
{
    ss_html_scan_feed(s, str, strlen(str), r);
}

static void test_protocol_found_in_chunk(void **unused)
{
    ss_html_scan s;
    ss_html_scan_result r;

    ss_html_scan_init(&s);
    feed_str(&s, "<html><head></head>", &r);
    assert_int_equal(r.found, 1);
    assert_int_equal(r.held_in_tag, 0);
    assert_int_equal(r.release_held, 0);
    assert_int_equal(r.pos, 12);
    assert_int_equal(s.held, 0);

    /* Done: later chunks pass through whole, nothing found again. */
    feed_str(&s, "<body>", &r);
    assert_int_equal(r.found, 0);
    assert_int_equal(r.release_held, 0);
    assert_int_equal(r.pos, 6);
    assert_int_equal(s.held, 0);
}

static void test_protocol_hold_then_found_in_held(void **unused)
{
    ss_html_scan s;
    ss_html_scan_result r;

    ss_html_scan_init(&s);
    feed_str(&s, "<html><head>x</he", &r);
    assert_int_equal(r.found, 0);
    assert_int_equal(r.release_held, 0);
    assert_int_equal(r.pos, 13);
    assert_int_equal(s.held, 4);

    feed_str(&s, "AD", &r);                 /* the whole chunk extends it */
    assert_int_equal(r.found, 0);
    assert_int_equal(r.release_held, 0);
    assert_int_equal(r.pos, 0);
    assert_int_equal(s.held, SS_HTML_SCAN_MAX_HOLD);

    ss_html_scan_feed(&s, NULL, 0, &r);     /* empty: nothing changes */
    assert_int_equal(r.found, 0);
    assert_int_equal(r.release_held, 0);
    assert_int_equal(r.pos, 0);
    assert_int_equal(s.held, SS_HTML_SCAN_MAX_HOLD);

    feed_str(&s, ">rest", &r);              /* the deciding byte is in the chunk */
    assert_int_equal(r.found, 1);
    assert_int_equal(r.held_in_tag, 1);
    assert_int_equal(r.release_held, 0);
    assert_int_equal(s.held, 0);
}

static void test_protocol_held_fails_and_restarts(void **unused)
{
    ss_html_scan s;
    ss_html_scan_result r;

    /* Held "<", next chunk "<body>": release "<", insert at 0. */
    ss_html_scan_init(&s);
    feed_str(&s, "ab<", &r);
    assert_int_equal(r.found, 0);
    assert_int_equal(r.pos, 2);
    assert_int_equal(s.held, 1);
    feed_str(&s, "<body>", &r);
    assert_int_equal(r.found, 1);
    assert_int_equal(r.held_in_tag, 0);
    assert_int_equal(r.release_held, 1);
    assert_int_equal(r.pos, 0);

    /* Held "</hea", next chunk "</he": release it, hold the new one. */
    ss_html_scan_init(&s);
    feed_str(&s, "</hea", &r);
    assert_int_equal(r.found, 0);
    assert_int_equal(r.pos, 0);
    assert_int_equal(s.held, 5);
    feed_str(&s, "</he", &r);
    assert_int_equal(r.found, 0);
    assert_int_equal(r.release_held, 1);
    assert_int_equal(r.pos, 0);
    assert_int_equal(s.held, 4);

    /* Held "</head", next "x<bo": release, pass "x", hold "<bo". */
    ss_html_scan_init(&s);
    feed_str(&s, "</head", &r);
    assert_int_equal(s.held, 6);
    feed_str(&s, "x<bo", &r);
    assert_int_equal(r.found, 0);
    assert_int_equal(r.release_held, 1);
    assert_int_equal(r.pos, 1);
    assert_int_equal(s.held, 3);

    /* Held "<bod", next "yx": fails on its last byte, all released. */
    ss_html_scan_init(&s);
    feed_str(&s, "<bod", &r);
    assert_int_equal(s.held, 4);
    feed_str(&s, "yx", &r);
    assert_int_equal(r.found, 0);
    assert_int_equal(r.release_held, 1);
    assert_int_equal(r.pos, 2);
    assert_int_equal(s.held, 0);
}

static void test_protocol_no_tag_passes_everything(void **unused)
{
    static char big[64 * 1024];
    ss_html_scan s;
    ss_html_scan_result r;

    memset(big, 'a', sizeof(big));
    big[100] = '<';     /* a '<' that leads nowhere */
    ss_html_scan_init(&s);
    ss_html_scan_feed(&s, big, sizeof(big), &r);
    assert_int_equal(r.found, 0);
    assert_int_equal(r.release_held, 0);
    assert_int_equal(r.pos, sizeof(big));
    assert_int_equal(s.held, 0);

    /* "</head" then the end of the stream: never decided, never found. */
    feed_str(&s, "</head", &r);
    assert_int_equal(r.found, 0);
    assert_int_equal(r.pos, 0);
    assert_int_equal(s.held, 6);
}

/* Only a possible insertion point is held: a comment, a script's text or a
 * tag that cannot be "</head" or "<body" goes on at once, and "</head"
 * inside them is no insertion point. */
static void test_protocol_skipped_markup_is_never_held(void **unused)
{
    static const char *const chunks[] = {
        "<html><head><!", "-- </he", "ad> -", "-", "><scr", "ipt>var s='<bo",
        "dy>';</scr", "ipt", " <s", "pan>",
    };
    ss_html_scan s;
    ss_html_scan_result r;
    size_t k;

    ss_html_scan_init(&s);
    for (k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        feed_str(&s, chunks[k], &r);
        assert_int_equal(r.found, 0);
        assert_int_equal(r.pos, strlen(chunks[k]));
        assert_int_equal(s.held, 0);
    }
    feed_str(&s, "</", &r);         /* text again: this one may be "</head" */
    assert_int_equal(r.pos, 0);
    assert_int_equal(s.held, 2);
    feed_str(&s, "head>", &r);
    assert_int_equal(r.found, 1);
    assert_int_equal(r.held_in_tag, 1);
}

/* A policy <meta> cut anywhere: the decision comes with the byte that ends
 * its http-equiv value; the held bytes before it go out first; afterwards
 * the scanner passes everything. */
static void test_protocol_csp_meta(void **unused)
{
    ss_html_scan s;
    ss_html_scan_result r;

    ss_html_scan_init(&s);
    feed_str(&s, "<head></", &r);
    assert_int_equal(r.pos, 6);
    assert_int_equal(s.held, 2);
    feed_str(&s, "x><meta HTTP-equiv=\"content-SECURITY-pol", &r);
    assert_int_equal(r.found, 0);
    assert_int_equal(r.csp_meta, 0);
    assert_int_equal(r.release_held, 1);
    assert_int_equal(s.held, 0);
    feed_str(&s, "icy", &r);
    assert_int_equal(r.csp_meta, 0);
    feed_str(&s, "\" content=\"x\"></head>", &r);
    assert_int_equal(r.csp_meta, 1);
    assert_int_equal(r.found, 0);
    assert_int_equal(r.release_held, 0);
    assert_int_equal(r.pos, strlen("\" content=\"x\"></head>"));
    feed_str(&s, "<body>", &r);
    assert_int_equal(r.found, 0);
    assert_int_equal(r.csp_meta, 0);
    assert_int_equal(r.pos, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_matches_table),
        cmocka_unit_test(test_table_whole),
        cmocka_unit_test(test_table_every_two_way_split),
        cmocka_unit_test(test_table_byte_per_chunk),
        cmocka_unit_test(test_table_random_splits),
        cmocka_unit_test(test_table_empty_chunks),
        cmocka_unit_test(test_random_documents),
        cmocka_unit_test(test_protocol_found_in_chunk),
        cmocka_unit_test(test_protocol_hold_then_found_in_held),
        cmocka_unit_test(test_protocol_held_fails_and_restarts),
        cmocka_unit_test(test_protocol_no_tag_passes_everything),
        cmocka_unit_test(test_protocol_skipped_markup_is_never_held),
        cmocka_unit_test(test_protocol_csp_meta),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
