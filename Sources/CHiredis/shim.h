/* libhiredis (Debian: libhiredis-dev), used through redisCommandArgv and its reader. */
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
