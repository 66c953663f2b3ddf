/* The cmocka group fixture shared by the unit tests: APR and one pool,
 * handed to each test as *state. */
#ifndef UNIT_POOL_H
#define UNIT_POOL_H

#include <apr_general.h>
#include <apr_pools.h>

static int pool_setup(void **state)
{
    apr_pool_t *p;

    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return -1;
    }
    *state = p;
    return 0;
}

static int pool_teardown(void **state)
{
    apr_pool_destroy(*state);
    apr_terminate();
    return 0;
}

#endif
