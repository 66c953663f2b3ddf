/* The whole-document reference for lib/ss_html_scan.c, shared by its unit
 * tests and its fuzz target: the same rules written the obvious way, walked
 * from '<' to '<' over the whole document, skipping comments (what ends them
 * is the HTML tokenizer's rule: "-->", "--!>", or "<!-->" / "<!--->" at
 * once), bogus comments ("<!...>", "<?...>": up to '>') and the text of the
 * raw-text elements (a start tag closed with "/>" opens none).  Include once,
 * after <string.h> and <strings.h>. */
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

/* Offset of the insertion point, or -1. */
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
