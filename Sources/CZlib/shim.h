// The system zlib (libz, already linked by SwiftNIO's HTTP compression): ocs gzips each feed once.
#include <zlib.h>
