// A small thread pool for the x86 binary-convolution kernels, so that LceBconv2d uses the
// interpreter's thread count (ruy, LCE's own thread pool, is not built into the delegate).
#ifndef BNNKIT_DELEGATE_X86_64_THREAD_POOL_H_
#define BNNKIT_DELEGATE_X86_64_THREAD_POOL_H_

#include <cstdint>

namespace bnnkit_x86 {

// Calls task(context, item) for every item in [0, items), on up to `threads` threads: the
// calling thread and threads - 1 pool workers, which take items one at a time. Returns when
// every item is done. Runs everything on the calling thread when threads <= 1, when items
// <= 1, or when another ParallelFor is running (two interpreters invoked at once).
void ParallelFor(int threads, std::int32_t items, void (*task)(void* context, std::int32_t item),
                 void* context);

}  // namespace bnnkit_x86

#endif  // BNNKIT_DELEGATE_X86_64_THREAD_POOL_H_
