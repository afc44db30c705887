/* server/http/llhttp_api_aligned.c — llhttp's API and callback wrappers (Debian's api.c and
 * http.c, included from llhttp_source_dir, never copied here), compiled so that their code starts
 * at a 4 KiB boundary, as llhttp.c's does (server/http/llhttp_aligned.c, which says why).
 *
 * Every request runs them too (llhttp_execute, llhttp__on_url and the other wrappers, ~200
 * instructions). Compiled on their own they landed wherever the code linked before them ended: a
 * change to the static file handler moved them by 1,104 bytes, and GET /json went from 2.4 to
 * 19.9 simulated instruction-cache misses a request (docs/loadtest.md, nineteenth session). They
 * are a translation unit apart from llhttp.c: api.c declares the callbacks llhttp.c defines with
 * other types. */
#include <api.c>
#include <http.c>

__attribute__((aligned(4096), used, noinline)) void lake_llhttp_api_aligned(void) {}
