/* Names of the reasons, as logs, environment variables and the tool show them. */
#include "ss_reason.h"

static const char *const ss_reason_names[] = {
    "-", "malformed", "unknown-key", "bad-ticket", "expired", "future",
    "unknown-source", "mode", "referer", "replayed", "cache-unavailable",
    "no-session", "no-site", "state", "fetch-dest", "kind"
};

const char *ss_reason_name(ss_reason reason)
{
    if ((unsigned)reason >= sizeof(ss_reason_names) / sizeof(ss_reason_names[0])) {
        return "?";
    }
    return ss_reason_names[reason];
}
