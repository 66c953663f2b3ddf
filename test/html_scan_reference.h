/* The whole-document reference for lib/ss_html_scan.c, shared by its unit
 * tests and its fuzz target: the same rules written the obvious way, walked
 * from '<' to '<' over the whole document, skipping comments (what ends them
 * is the HTML tokenizer's rule: "-->", "--!>", or "<!-->" / "<!--->" at
 * once), bogus comments ("<!...>", "<?...>": up to '>') and the text of the
 * raw-text elements (a start tag closed with "/>" opens none), and the
 * attributes of <meta>, where an http-equiv of Content-Security-Policy (any
 * case) means no insertion point at all.  Include once, after <string.h> and
 * <strings.h>. */
#ifndef SS_HTML_SCAN_REFERENCE_H
#define SS_HTML_SCAN_REFERENCE_H

static int ref_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int ref_is_delim(char c)
{
    return c == '>' || ref_is_space(c);
}

static int ref_ends_name(char c)
{
    return c == '>' || c == '/' || ref_is_space(c);
}

static int ref_starts(const char *doc, size_t len, size_t i, const char *s)
{
    size_t n = strlen(s);
    return i + n <= len && strncasecmp(doc + i, s, n) == 0;
}

static int ref_tag_at(const char *doc, size_t len, size_t i, const char *name)
{
    size_t n = strlen(name);
    return i + n < len && strncasecmp(doc + i, name, n) == 0
           && ref_is_delim(doc[i + n]);
}

/* After the comment opened at i ("<!--"), or len. */
static size_t ref_comment_end(const char *doc, size_t len, size_t i)
{
    size_t j = i + 4;

    if (ref_starts(doc, len, j, ">"))
        return j + 1;
    if (ref_starts(doc, len, j, "->"))
        return j + 2;
    for (; j < len; j++) {
        if (ref_starts(doc, len, j, "-->"))
            return j + 3;
        if (ref_starts(doc, len, j, "--!>"))
            return j + 4;
    }
    return len;
}

static const char *const ref_raw[] = { "script", "style", "textarea", "title" };

/* After the raw-text element whose start tag "<name" is at i, or len. */
static size_t ref_raw_end(const char *doc, size_t len, size_t i, const char *name)
{
    size_t n = strlen(name), t;
    char quote = 0;
    int slash = 0;

    for (t = i + 1 + n; t < len; t++) {
        char c = doc[t];

        if (quote) {
            if (c == quote)
                quote = 0;
            continue;
        }
        if (c == '>')
            break;
        if (c == '"' || c == '\'')
            quote = c;
        slash = c == '/';
    }
    if (t >= len)
        return len;
    if (slash)
        return t + 1;
    for (t++; t < len; t++) {
        if (ref_starts(doc, len, t, "</") && ref_starts(doc, len, t + 2, name)
            && t + 2 + n < len && ref_ends_name(doc[t + 2 + n]))
            return t + 3 + n;
    }
    return len;
}

static int ref_is(const char *doc, size_t s, size_t e, const char *word)
{
    return e - s == strlen(word) && strncasecmp(doc + s, word, e - s) == 0;
}

/* After the <meta> start tag whose "<meta" is at i, or len; *csp = 1 (and
 * the offset where that was certain) when an http-equiv attribute with the
 * value Content-Security-Policy ended before its end. */
static size_t ref_meta_end(const char *doc, size_t len, size_t i, int *csp)
{
    size_t t = i + 5;

    *csp = 0;
    while (t < len) {
        size_t ns, ne, vs, ve;
        char c = doc[t];

        if (ref_is_space(c) || c == '/') {
            t++;
            continue;
        }
        if (c == '>')
            return t + 1;
        /* a name: up to white space, '/', '>' or '=' (a first '=' is part of it) */
        ns = t++;
        while (t < len && !ref_is_space(doc[t]) && doc[t] != '/' && doc[t] != '>'
               && doc[t] != '=')
            t++;
        ne = t;
        while (t < len && ref_is_space(doc[t]))
            t++;
        if (t >= len || doc[t] != '=')
            continue;       /* no value: the next attribute, '/', '>' or the end */
        t++;
        while (t < len && ref_is_space(doc[t]))
            t++;
        if (t >= len)
            return len;
        if (doc[t] == '>')
            return t + 1;
        if (doc[t] == '"' || doc[t] == '\'') {
            const char *q = memchr(doc + t + 1, doc[t], len - t - 1);

            if (!q)
                return len;
            vs = t + 1;
            ve = (size_t)(q - doc);
            t = ve + 1;
        }
        else {
            vs = t;
            while (t < len && !ref_is_space(doc[t]) && doc[t] != '>')
                t++;
            if (t >= len)
                return len;     /* an unquoted value ends only at its delimiter */
            ve = t;
        }
        if (ref_is(doc, ns, ne, "http-equiv") && ref_is(doc, vs, ve, "content-security-policy")) {
            *csp = 1;
            return t;
        }
    }
    return len;
}

/* Offset of the insertion point, -1 when there is none, -2 when a
 * Content-Security-Policy <meta> comes first. */
static long reference_find(const char *doc, size_t len)
{
    size_t i = 0;

    while (i < len) {
        const char *gt;
        size_t r;

        if (doc[i] != '<') {
            i++;
            continue;
        }
        if (ref_tag_at(doc, len, i, "</head") || ref_tag_at(doc, len, i, "<body"))
            return (long)i;
        if (ref_starts(doc, len, i, "<!--")) {
            i = ref_comment_end(doc, len, i);
            continue;
        }
        if (ref_starts(doc, len, i, "<meta") && i + 5 < len && ref_ends_name(doc[i + 5])) {
            int csp;

            i = ref_meta_end(doc, len, i, &csp);
            if (csp)
                return -2;
            continue;
        }
        if (ref_starts(doc, len, i, "<!") || ref_starts(doc, len, i, "<?")) {
            gt = memchr(doc + i + 2, '>', len - i - 2);
            i = gt ? (size_t)(gt - doc) + 1 : len;
            continue;
        }
        for (r = 0; r < sizeof(ref_raw) / sizeof(ref_raw[0]); r++) {
            size_t n = strlen(ref_raw[r]);

            if (ref_starts(doc, len, i + 1, ref_raw[r]) && i + 1 + n < len
                && ref_ends_name(doc[i + 1 + n]))
                break;
        }
        if (r < sizeof(ref_raw) / sizeof(ref_raw[0])) {
            i = ref_raw_end(doc, len, i, ref_raw[r]);
            continue;
        }
        i++;
    }
    return -1;
}

#endif
