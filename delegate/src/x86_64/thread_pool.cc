// The pool behind ParallelFor (thread_pool.h).
//
// Workers are created on first use and live until the process exits (the pool is never
// destroyed, so nothing joins them at exit). Between jobs a worker spins for a short while
// (the binary convolutions of one model follow each other within tens of microseconds) and
// then sleeps on a condition variable.
//
// The caller never waits for a worker that has not started: on a busy machine a woken
// worker may not get a core for milliseconds. A job is one word, `state_`: its number, an
// "open" bit and the count of workers that joined it. A worker joins only an open job of
// the number it was woken for (compare-and-swap); the caller takes items too, closes the job
// when none is left, and then waits only for the workers that joined. Items left to a
// worker that never ran are done by the caller.
#include "thread_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <immintrin.h>  // _mm_pause (SSE2)

namespace bnnkit_x86 {
namespace {

constexpr auto kSpin = std::chrono::microseconds(100);
constexpr std::uint64_t kOpen = std::uint64_t(1) << 31;
constexpr std::uint64_t kCount = kOpen - 1;

class Pool {
 public:
  // Runs the job on the caller and up to `helpers` workers; false when the pool is busy.
  bool Run(int helpers, std::int32_t items, void (*task)(void*, std::int32_t), void* context) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    Grow(helpers);
    const std::uint64_t job = (state_.load(std::memory_order_relaxed) >> 32) + 1;
    task_ = task;
    context_ = context;
    items_ = items;
    helpers_ = helpers;
    next_.store(0, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      state_.store(job << 32 | kOpen, std::memory_order_release);  // publishes the fields
    }
    wake_.notify_all();
    Work();
    state_.fetch_and(~kOpen, std::memory_order_acq_rel);  // no one joins from now on
    while ((state_.load(std::memory_order_acquire) & kCount) != 0) _mm_pause();
    return true;
  }

 private:
  void Grow(int helpers) {
    while (workers_ < helpers) {
      std::thread(&Pool::Loop, this, workers_).detach();
      ++workers_;
    }
  }

  void Work() {
    for (std::int32_t item = next_.fetch_add(1); item < items_; item = next_.fetch_add(1)) {
      task_(context_, item);
    }
  }

  // Joins job number `job` if it is still open; true when joined.
  bool Join(std::uint64_t job) {
    std::uint64_t state = state_.load(std::memory_order_acquire);
    while ((state >> 32) == job && (state & kOpen)) {
      if (state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel)) {
        return true;
      }
    }
    return false;
  }

  void Loop(int index) {
    std::uint64_t seen = state_.load(std::memory_order_acquire) >> 32;
    for (;;) {
      const auto until = std::chrono::steady_clock::now() + kSpin;
      while ((state_.load(std::memory_order_acquire) >> 32) == seen &&
             std::chrono::steady_clock::now() < until) {
        _mm_pause();
      }
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return (state_.load(std::memory_order_acquire) >> 32) != seen; });
      }
      seen = state_.load(std::memory_order_acquire) >> 32;
      if (index < helpers_.load(std::memory_order_relaxed) && Join(seen)) {
        Work();
        state_.fetch_sub(1, std::memory_order_acq_rel);  // leave
      }
    }
  }

  std::mutex busy_;   // one job at a time
  std::mutex mutex_;  // pairs with wake_ so that no wake-up is lost
  std::condition_variable wake_;
  std::atomic<std::uint64_t> state_{0};  // job number << 32 | open bit | workers joined
  std::atomic<std::int32_t> next_{0};
  std::atomic<int> helpers_{0};
  // Written by Run before the job opens; read by workers that joined it.
  void (*task_)(void*, std::int32_t) = nullptr;
  void* context_ = nullptr;
  std::int32_t items_ = 0;
  int workers_ = 0;
};

Pool& ThePool() {
  static Pool* pool = new Pool;  // never destroyed: detached workers may still wait on it
  return *pool;
}

}  // namespace

void ParallelFor(int threads, std::int32_t items, void (*task)(void*, std::int32_t),
                 void* context) {
  const int helpers = (threads < items ? threads : items) - 1;
  if (helpers <= 0 || !ThePool().Run(helpers, items, task, context)) {
    for (std::int32_t item = 0; item < items; ++item) task(context, item);
  }
}

}  // namespace bnnkit_x86
