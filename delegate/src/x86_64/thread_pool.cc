// The pool behind ParallelFor (thread_pool.h).
//
// Workers are created on first use and live until the process exits (the pool is never
// destroyed, so nothing joins them at exit). Between jobs a worker spins for a short while
// (binary convolutions of one model follow each other within tens of microseconds) and then
// sleeps on a condition variable.
#include "thread_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <immintrin.h>  // _mm_pause (SSE2)

namespace bnnkit_x86 {
namespace {

constexpr auto kSpin = std::chrono::microseconds(200);

class Pool {
 public:
  // Runs the job on the caller and `helpers` workers; false when the pool is busy.
  bool Run(int helpers, std::int32_t items, void (*task)(void*, std::int32_t), void* context) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    Grow(helpers);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = task;
      context_ = context;
      items_ = items;
      next_.store(0, std::memory_order_relaxed);
      done_.store(0, std::memory_order_relaxed);
      // One atomic word carries the job number and its number of helpers, so that a worker
      // reads both for the same job.
      job_ = ((job_ >> 16) + 1) << 16 | static_cast<std::uint64_t>(helpers);
      generation_.store(job_, std::memory_order_release);
    }
    wake_.notify_all();
    Work();
    while (done_.load(std::memory_order_acquire) < helpers) _mm_pause();
    return true;
  }

 private:
  void Grow(int helpers) {
    while (static_cast<int>(workers_) < helpers) {
      // The worker starts from the job number before the job about to be published.
      std::thread(&Pool::Loop, this, static_cast<int>(workers_), job_).detach();
      ++workers_;
    }
  }

  void Work() {
    for (std::int32_t item = next_.fetch_add(1); item < items_; item = next_.fetch_add(1)) {
      task_(context_, item);
    }
  }

  void Loop(int index, std::uint64_t seen) {
    for (;;) {
      const auto until = std::chrono::steady_clock::now() + kSpin;
      while (generation_.load(std::memory_order_acquire) == seen &&
             std::chrono::steady_clock::now() < until) {
        _mm_pause();
      }
      if (generation_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      }
      seen = generation_.load(std::memory_order_acquire);
      if (index < static_cast<int>(seen & 0xffff)) {
        Work();
        done_.fetch_add(1, std::memory_order_release);
      }
    }
  }

  std::mutex busy_;   // one job at a time
  std::mutex mutex_;  // guards the job fields while they are published
  std::condition_variable wake_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::int32_t> next_{0};
  std::atomic<int> done_{0};
  void (*task_)(void*, std::int32_t) = nullptr;
  void* context_ = nullptr;
  std::int32_t items_ = 0;
  std::uint64_t job_ = 0;  // (job number << 16) | helpers; written by Run only
  unsigned workers_ = 0;
};

Pool& ThePool() {
  static Pool* pool = new Pool;  // never destroyed: detached workers may still wait on it
  return *pool;
}

}  // namespace

void ParallelFor(int threads, std::int32_t items, void (*task)(void*, std::int32_t),
                 void* context) {
  int helpers = (threads < items ? threads : items) - 1;
  if (helpers > 0xffff) helpers = 0xffff;
  if (helpers <= 0 || !ThePool().Run(helpers, items, task, context)) {
    for (std::int32_t item = 0; item < items; ++item) task(context, item);
  }
}

}  // namespace bnnkit_x86
