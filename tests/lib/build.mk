# tests/lib: what the test programs share.  Read before the other tests/*
# fragments (Makefile), so that they can name these objects.
#   P11LOAD_OBJ  loading a PKCS#11 module (p11load.h); link with -ldl
#   PROCFD_OBJ   counting the process's open files (procfd.h)
#   tests/lib/harness.sh is the shell side (sourced by each tier's run).
P11LOAD_OBJ := $(B)/tests/lib/p11load.o
P11LOAD_CFLAGS := -Itests/lib $(shell pkg-config --cflags p11-kit-1 2>/dev/null)
$(P11LOAD_OBJ): HOST_CFLAGS += $(P11LOAD_CFLAGS)
PROCFD_OBJ := $(B)/tests/lib/procfd.o
