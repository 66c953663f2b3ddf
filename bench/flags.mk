# Prints the compiler and flags the project's Makefile uses, for building
# bench/crypto_bench.c the same way:
#   make -s --no-print-directory -C $TOP -f Makefile -f bench/flags.mk bench-flags
.PHONY: bench-flags
bench-flags:
	@echo 'CC=$(CC)'
	@echo 'CFLAGS=$(AM_CFLAGS) $(CFLAGS)'
	@echo 'CPPFLAGS=$(DEFAULT_INCLUDES) $(AM_CPPFLAGS) $(CPPFLAGS)'
	@echo 'LIBS=$(LDFLAGS) $(APR_LIBS) $(SODIUM_LIBS) $(LIBS)'
