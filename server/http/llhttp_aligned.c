/* server/http/llhttp_aligned.c — llhttp's parser (Debian's llhttp.c, included from
 * llhttp_source_dir, never copied here), compiled so that its code starts at a 4 KiB boundary.
 *
 * Why: every request runs ~100 lines of llhttp's state machine beside the hot run of the request
 * path (LAKE_HOT, opened at a 4 KiB boundary in server/main.cpp). Without this, llhttp lands
 * wherever the code linked before it ends, so any change to that code, even code no request
 * runs, moved llhttp's lines into other sets of the instruction cache against the hot run's
 * (docs/loadtest.md, fourteenth session). The aligned function below raises the alignment of
 * this object's code section to 4 KiB, which puts the whole of it at such a boundary (api.c and
 * http.c likewise: server/http/llhttp_api_aligned.c). */
#include <llhttp.c>

__attribute__((aligned(4096), used, noinline)) void lake_llhttp_aligned(void) {}
