import NIOCore
import NIOPosix

/// A task executor on threads of its own (a NIOThreadPool started once and kept for the process's life, as NIO's
/// own singletons are): work preferred onto it never waits for Swift's cooperative pool, which has one thread per
/// core and stalls every task while anything blocks on it.
package final class ThreadPoolExecutor: TaskExecutor {
    /// Where backend chains are judged: the judge is asynchronous (the evaluator is), so it runs as a task with
    /// this executor preferred, off the event loops (a hostile chain costs them nothing) and never queued behind
    /// other work on the cooperative pool. One thread per core.
    static let judge = ThreadPoolExecutor(threads: max(2, System.coreCount))

    private let pool: NIOThreadPool

    package init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        pool.submit { _ in job.runSynchronously(on: executor) }
    }
}
