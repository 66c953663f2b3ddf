/* Streaming search for the loader insertion point (docs/PROTOCOL.md, "The
 * script flow").
 *
 * A small tokenizer, a byte at a time, that knows only what decides where
 * a tag can be: text, the name after '<', a comment (the states of the HTML
 * tokenizer, so "<!-->" and "--!>" end one as in a browser), a bogus comment
 * ("<!...>", "<?...>"), the start tag of a raw-text element (its attributes,
 * quotes and a closing "/>"), and that element's text up to its end tag.
 *
 * Only the name after '<' can become an insertion point, and only while
 * "/head" or "body" is still possible: those bytes (at most "</head") are
 * what the caller holds back.  The candidate starts with '<' and holds no
 * other '<', so once it fails it cannot overlap a later candidate except at
 * the failing byte itself (when that byte is '<'): every byte is examined
 * once and nothing held is ever rescanned. */
#include <string.h>

#include "ss_html_scan.h"

enum {
    SCAN_TEXT = 0,          /* text: the next '<' may open a tag */
    SCAN_NAME,              /* after '<': k bytes of one of scan_names matched */
    SCAN_START_TAG,         /* in the start tag of a raw-text element */
    SCAN_START_TAG_DQ,      /* ... in a "quoted" value */
    SCAN_START_TAG_SQ,      /* ... in a 'quoted' value */
    SCAN_RAW,               /* its text; k bytes of "</name" matched */
    SCAN_COMMENT_START,     /* "<!--" */
    SCAN_COMMENT_START_DASH,/* "<!---" */
    SCAN_COMMENT,
    SCAN_COMMENT_END_DASH,  /* "-" */
    SCAN_COMMENT_END,       /* "--" */
    SCAN_COMMENT_END_BANG,  /* "--!" */
    SCAN_BOGUS,             /* "<!" or "<?" not opening a comment: up to '>' */
    SCAN_META,              /* in a <meta> start tag, before an attribute name */
    SCAN_META_NAME,         /* ... in an attribute name; k bytes of "http-equiv" */
    SCAN_META_AFTER_NAME,   /* ... white space after the name */
    SCAN_META_BEFORE_VALUE, /* ... after '=' */
    SCAN_META_VALUE_DQ,     /* ... a "quoted" value; k bytes of the CSP name */
    SCAN_META_VALUE_SQ,     /* ... a 'quoted' value */
    SCAN_META_VALUE,        /* ... an unquoted value */
    SCAN_DONE               /* insertion point reported; everything else passes */
};

/* The names that matter after '<', lowercase.  None is a prefix of another,
 * so at most one is complete at a time. */
enum {
    NAME_HEAD_END, NAME_BODY, NAME_COMMENT, NAME_META,
    NAME_SCRIPT, NAME_STYLE, NAME_TEXTAREA, NAME_TITLE      /* raw text */
};
#define NAME_RAW_FIRST NAME_SCRIPT
static const struct {
    const char *name;
    unsigned char len;
} scan_names[] = {
    [NAME_HEAD_END] = { "/head", 5 },
    [NAME_BODY]     = { "body", 4 },
    [NAME_COMMENT]  = { "!--", 3 },
    [NAME_META]     = { "meta", 4 },
    [NAME_SCRIPT]   = { "script", 6 },
    [NAME_STYLE]    = { "style", 5 },
    [NAME_TEXTAREA] = { "textarea", 8 },
    [NAME_TITLE]    = { "title", 5 },
};
#define NAMES_ALL ((1u << (sizeof(scan_names) / sizeof(scan_names[0]))) - 1)
#define NAMES_INSERT ((1u << NAME_HEAD_END) | (1u << NAME_BODY))

/* ASCII letters only: c | 0x20 equals a lowercase letter exactly for that
 * letter and its uppercase form (and maps nothing else onto '/', '!', '-'). */
#define SCAN_LOWER_IS(c, lower) \
    ((lower) >= 'a' ? ((c) | 0x20) == (lower) : (c) == (lower))

static int scan_is_space(unsigned char c)
{
    /* HTML white space (no \v) */
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* What ends "</head" and "<body" */
static int scan_is_delim(unsigned char c)
{
    return c == '>' || scan_is_space(c);
}

/* What ends the name of a raw-text element's start or end tag */
static int scan_ends_tag_name(unsigned char c)
{
    return c == '>' || c == '/' || scan_is_space(c);
}

/* The candidate after '<' is a possible insertion point: held back. */
#define SCAN_HOLDING(s) ((s)->mode == SCAN_NAME && ((s)->names & NAMES_INSERT))

static void scan_open(ss_html_scan *s)
{
    s->mode = SCAN_NAME;
    s->k = 0;
    s->names = NAMES_ALL;
}

/* One byte in a comment; ends it (back to text) where a browser does. */
static void scan_comment(ss_html_scan *s, unsigned char c)
{
    switch (s->mode) {
    case SCAN_COMMENT_START:
        s->mode = c == '-' ? SCAN_COMMENT_START_DASH : c == '>' ? SCAN_TEXT : SCAN_COMMENT;
        break;
    case SCAN_COMMENT_START_DASH:
        s->mode = c == '-' ? SCAN_COMMENT_END : c == '>' ? SCAN_TEXT : SCAN_COMMENT;
        break;
    case SCAN_COMMENT:
        if (c == '-')
            s->mode = SCAN_COMMENT_END_DASH;
        break;
    case SCAN_COMMENT_END_DASH:
        s->mode = c == '-' ? SCAN_COMMENT_END : SCAN_COMMENT;
        break;
    case SCAN_COMMENT_END:
        s->mode = c == '>' ? SCAN_TEXT : c == '!' ? SCAN_COMMENT_END_BANG
                : c == '-' ? SCAN_COMMENT_END : SCAN_COMMENT;
        break;
    case SCAN_COMMENT_END_BANG:
        s->mode = c == '>' ? SCAN_TEXT : c == '-' ? SCAN_COMMENT_END_DASH : SCAN_COMMENT;
        break;
    }
}

/* The first byte after '<' (most tags end the candidate right here). */
static void scan_name_first(ss_html_scan *s, unsigned char c)
{
    unsigned int names;

    switch (c) {
    case '/':           names = 1u << NAME_HEAD_END; break;
    case 'b': case 'B': names = 1u << NAME_BODY; break;
    case '!':           names = 1u << NAME_COMMENT; break;
    case 's': case 'S': names = (1u << NAME_SCRIPT) | (1u << NAME_STYLE); break;
    case 't': case 'T': names = (1u << NAME_TEXTAREA) | (1u << NAME_TITLE); break;
    case 'm': case 'M': names = 1u << NAME_META; break;
    case '?':           s->mode = SCAN_BOGUS; return;
    case '<':           scan_open(s); return;     /* the next candidate */
    default:            s->mode = SCAN_TEXT; return;
    }
    s->names = (unsigned char)names;
    s->k = 1;
}

/* One byte after '<'.  Returns 1 when it completes the insertion point. */
static int scan_name(ss_html_scan *s, unsigned char c)
{
    unsigned int keep = 0, i;

    if (s->k == 0) {
        scan_name_first(s, c);
        return 0;
    }
    for (i = 0; (s->names >> i) != 0; i++) {
        if (!(s->names & (1u << i))) {
            continue;
        }
        if (s->k < scan_names[i].len) {
            if (SCAN_LOWER_IS(c, (unsigned char)scan_names[i].name[s->k]))
                keep |= 1u << i;
            continue;
        }
        /* the name is complete (and the only one left): c decides */
        if (i == NAME_COMMENT) {
            s->mode = SCAN_COMMENT_START;
            scan_comment(s, c);
            return 0;
        }
        if (i == NAME_META) {
            if (!scan_ends_tag_name(c))
                break;
            s->mode = c == '>' ? SCAN_TEXT : SCAN_META;
            return 0;
        }
        if (i < NAME_RAW_FIRST) {
            if (scan_is_delim(c))
                return 1;
            break;
        }
        if (scan_ends_tag_name(c)) {
            s->raw = (unsigned char)i;
            s->k = 0;
            s->slash = c == '/';
            s->mode = c == '>' ? SCAN_RAW : SCAN_START_TAG;
            return 0;
        }
        break;
    }
    if (keep) {
        s->names = (unsigned char)keep;
        s->k++;
        return 0;
    }
    /* no name: after "<!" a bogus comment (c may already end it), anything
     * else is text, and a failing '<' may open the next tag */
    if (s->names & (1u << NAME_COMMENT)) {
        s->mode = c == '>' ? SCAN_TEXT : SCAN_BOGUS;
    }
    else if (c == '<') {
        scan_open(s);
    }
    else {
        s->mode = SCAN_TEXT;
    }
    return 0;
}

/* One byte of a raw-text element's start tag. */
static void scan_start_tag(ss_html_scan *s, unsigned char c)
{
    switch (s->mode) {
    case SCAN_START_TAG_DQ:
        if (c == '"')
            s->mode = SCAN_START_TAG;
        return;
    case SCAN_START_TAG_SQ:
        if (c == '\'')
            s->mode = SCAN_START_TAG;
        return;
    }
    if (c == '>') {
        /* "/>" closes the element at once (XHTML) */
        s->mode = s->slash ? SCAN_TEXT : SCAN_RAW;
        s->k = 0;
    }
    else if (c == '"') {
        s->mode = SCAN_START_TAG_DQ;
    }
    else if (c == '\'') {
        s->mode = SCAN_START_TAG_SQ;
    }
    s->slash = c == '/';
}

/* One byte of raw text after its '<' (k >= 1): "</name" and the byte that
 * ends the name close the element. */
static void scan_raw(ss_html_scan *s, unsigned char c)
{
    unsigned int j = s->k - 1u;     /* bytes of "/name" matched */
    unsigned int n = scan_names[s->raw].len;
    int match;

    if (j == 0) {
        match = c == '/';
    }
    else if (j <= n) {
        match = SCAN_LOWER_IS(c, (unsigned char)scan_names[s->raw].name[j - 1]);
    }
    else if (scan_ends_tag_name(c)) {
        s->mode = SCAN_TEXT;
        s->k = 0;
        return;
    }
    else {
        match = 0;
    }
    /* a failing '<' may open the end tag right here */
    s->k = match ? (unsigned char)(s->k + 1) : (unsigned char)(c == '<');
}

/* The attribute and the value that make a <meta> a policy, lowercase */
static const char meta_equiv[] = "http-equiv";
static const char meta_csp[] = "content-security-policy";
#define META_NAME_MATCH  1u     /* the attribute name so far is a prefix of http-equiv */
#define META_EQUIV       2u     /* the attribute whose value is read is http-equiv */
#define META_VALUE_MATCH 4u     /* the value so far is a prefix of the CSP name */

/* One byte that may begin an attribute name (nothing else is open). */
static void scan_meta_attr(ss_html_scan *s, unsigned char c)
{
    if (scan_is_space(c) || c == '/') {
        s->mode = SCAN_META;
    }
    else if (c == '>') {
        s->mode = SCAN_TEXT;
    }
    else {
        /* a name may begin with '=' */
        s->mode = SCAN_META_NAME;
        s->meta = SCAN_LOWER_IS(c, (unsigned char)meta_equiv[0]) ? META_NAME_MATCH : 0;
        s->k = 1;
    }
}

/* The end of a value: 1 when it made the <meta> a Content-Security-Policy. */
static int scan_meta_value_end(ss_html_scan *s)
{
    return (s->meta & META_EQUIV) && (s->meta & META_VALUE_MATCH)
        && s->k == sizeof(meta_csp) - 1;
}

/* One byte of a value: matched against the CSP name. */
static void scan_meta_value(ss_html_scan *s, unsigned char c)
{
    if ((s->meta & META_VALUE_MATCH) && s->k < sizeof(meta_csp) - 1
        && SCAN_LOWER_IS(c, (unsigned char)meta_csp[s->k])) {
        s->k++;
    }
    else {
        s->meta &= ~META_VALUE_MATCH;
    }
}

static void scan_meta_value_start(ss_html_scan *s, int mode)
{
    s->mode = (unsigned char)mode;
    s->meta = (unsigned char)((s->meta & META_EQUIV) | META_VALUE_MATCH);
    s->k = 0;
}

/* One byte of a <meta> start tag after its name (the attributes, as the HTML
 * tokenizer reads them).  Returns 1 when an http-equiv attribute with the
 * value Content-Security-Policy (any case) has just ended. */
static int scan_meta(ss_html_scan *s, unsigned char c)
{
    switch (s->mode) {
    case SCAN_META:
        scan_meta_attr(s, c);
        return 0;
    case SCAN_META_NAME:
        if (scan_is_space(c) || c == '=' || c == '/' || c == '>') {
            int equiv = (s->meta & META_NAME_MATCH) && s->k == sizeof(meta_equiv) - 1;

            s->meta = equiv ? META_EQUIV : 0;
            s->mode = scan_is_space(c) ? SCAN_META_AFTER_NAME
                    : c == '=' ? SCAN_META_BEFORE_VALUE : c == '/' ? SCAN_META : SCAN_TEXT;
        }
        else if ((s->meta & META_NAME_MATCH) && s->k < sizeof(meta_equiv) - 1
                 && SCAN_LOWER_IS(c, (unsigned char)meta_equiv[s->k])) {
            s->k++;
        }
        else {
            s->meta = 0;
        }
        return 0;
    case SCAN_META_AFTER_NAME:
        if (c == '=') {
            s->mode = SCAN_META_BEFORE_VALUE;
        }
        else if (!scan_is_space(c)) {
            scan_meta_attr(s, c);
        }
        return 0;
    case SCAN_META_BEFORE_VALUE:
        if (c == '"') {
            scan_meta_value_start(s, SCAN_META_VALUE_DQ);
        }
        else if (c == '\'') {
            scan_meta_value_start(s, SCAN_META_VALUE_SQ);
        }
        else if (c == '>') {
            s->mode = SCAN_TEXT;
        }
        else if (!scan_is_space(c)) {
            scan_meta_value_start(s, SCAN_META_VALUE);
            scan_meta_value(s, c);
        }
        return 0;
    case SCAN_META_VALUE_DQ:
    case SCAN_META_VALUE_SQ:
        if (c == (s->mode == SCAN_META_VALUE_DQ ? '"' : '\'')) {
            s->mode = SCAN_META;
            return scan_meta_value_end(s);
        }
        scan_meta_value(s, c);
        return 0;
    default:    /* SCAN_META_VALUE */
        if (scan_is_space(c) || c == '>') {
            s->mode = c == '>' ? SCAN_TEXT : SCAN_META;
            return scan_meta_value_end(s);
        }
        scan_meta_value(s, c);
        return 0;
    }
}

void ss_html_scan_init(ss_html_scan *s)
{
    memset(s, 0, sizeof(*s));
    s->mode = SCAN_TEXT;
}

void ss_html_scan_feed(ss_html_scan *s, const char *chunk, size_t len,
                       ss_html_scan_result *res)
{
    const unsigned char *p = (const unsigned char *)chunk;
    /* the held bytes are exactly the open candidate */
    int have_held = SCAN_HOLDING(s);
    int cand_in_held = have_held;   /* the open candidate began before this chunk */
    size_t cand_start = 0;          /* its offset in the chunk; 0 when in the held bytes */
    size_t i = 0;

    res->found = 0;
    res->held_in_tag = 0;
    res->release_held = 0;
    res->csp_meta = 0;
    res->pos = 0;

    if (s->mode == SCAN_DONE) {
        /* Called again after the insertion point: nothing more to find. */
        res->pos = len;
        s->held = 0;
        return;
    }
    if (len == 0)
        return;     /* chunk may be NULL; held bytes stay held */

    while (i < len) {
        const unsigned char *at;

        switch (s->mode) {
        case SCAN_TEXT:
            /* fast path: jump to the next '<' */
            if (!(at = memchr(p + i, '<', len - i))) {
                i = len;
                continue;
            }
            scan_open(s);
            cand_in_held = 0;
            cand_start = (size_t)(at - p);
            i = cand_start + 1;
            continue;
        case SCAN_NAME:
            if (scan_name(s, p[i])) {
                res->found = 1;
                res->held_in_tag = cand_in_held;
                res->release_held = have_held && !cand_in_held;
                res->pos = cand_start;
                s->mode = SCAN_DONE;
                s->held = 0;
                return;
            }
            if (s->mode == SCAN_NAME && s->k == 0) {
                /* a failing '<' opened the next candidate right here */
                cand_in_held = 0;
                cand_start = i;
            }
            else if (!SCAN_HOLDING(s)) {
                cand_in_held = 0;   /* no insertion point: any held bytes go */
            }
            break;
        case SCAN_RAW:
            if (s->k == 0) {
                if (!(at = memchr(p + i, '<', len - i))) {
                    i = len;
                    continue;
                }
                s->k = 1;
                i = (size_t)(at - p) + 1;
                continue;
            }
            scan_raw(s, p[i]);
            break;
        case SCAN_COMMENT:
            if (!(at = memchr(p + i, '-', len - i))) {
                i = len;
                continue;
            }
            i = (size_t)(at - p);
            scan_comment(s, p[i]);
            break;
        case SCAN_BOGUS:
            if (!(at = memchr(p + i, '>', len - i))) {
                i = len;
                continue;
            }
            s->mode = SCAN_TEXT;
            i = (size_t)(at - p);
            break;
        case SCAN_START_TAG:
        case SCAN_START_TAG_DQ:
        case SCAN_START_TAG_SQ:
            scan_start_tag(s, p[i]);
            break;
        case SCAN_META_VALUE_DQ:
        case SCAN_META_VALUE_SQ:
            if (!(s->meta & META_VALUE_MATCH)) {
                /* a quoted value that can no longer make the <meta> a
                 * policy: straight to its closing quote */
                if (!(at = memchr(p + i, s->mode == SCAN_META_VALUE_DQ ? '"' : '\'',
                                  len - i))) {
                    i = len;
                    continue;
                }
                i = (size_t)(at - p);
            }
            /* fall through */
        case SCAN_META_NAME:
            if (s->mode == SCAN_META_NAME && !(s->meta & META_NAME_MATCH)) {
                /* an attribute name other than http-equiv: to its end */
                while (i < len && !scan_is_space(p[i]) && p[i] != '=' && p[i] != '/'
                       && p[i] != '>') {
                    i++;
                }
                if (i == len) {
                    continue;
                }
            }
            /* fall through */
        case SCAN_META:
        case SCAN_META_AFTER_NAME:
        case SCAN_META_BEFORE_VALUE:
        case SCAN_META_VALUE:
            if (scan_meta(s, p[i])) {
                /* a policy in the page itself: no insertion point at all,
                 * everything (held bytes first) passes on */
                res->csp_meta = 1;
                res->release_held = have_held;
                res->pos = len;
                s->mode = SCAN_DONE;
                s->held = 0;
                return;
            }
            break;
        default:
            scan_comment(s, p[i]);
            break;
        }
        i++;
    }

    /* End of the chunk without a decision. */
    if (SCAN_HOLDING(s)) {
        res->pos = cand_start;      /* 0 when the chunk extends the held candidate */
        s->held = (size_t)s->k + 1;
    }
    else {
        res->pos = len;
        s->held = 0;
    }
    res->release_held = have_held && !cand_in_held;
}
