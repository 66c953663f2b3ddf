/* Until the "sent" cookie lands: nothing is remembered as sent. */
#ifndef SS_SENT_SHIM_H
#define SS_SENT_SHIM_H
static inline int ss_sent_matches(request_rec *r, const ss_site *self, const ss_gen *g)
{
    (void)r; (void)self; (void)g;
    return 0;
}
static inline void ss_sent_set(request_rec *r, const ss_server_conf *conf, const ss_site *self,
                               const ss_gen *g, int cross_site)
{
    (void)r; (void)conf; (void)self; (void)g; (void)cross_site;
}
#endif
