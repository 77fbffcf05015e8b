import NIOCore
import NIOPosix

/// Where backend chains are judged: threads of their own, not Swift's cooperative pool and not an event loop.
///
/// The judge is asynchronous (the evaluator is), so it runs as a task; with this executor preferred, the task and
/// the evaluator's work under it run here. A verdict is then never queued behind other work that holds the
/// cooperative pool (it has one thread per core, and anything blocking on it stalls every task), and a hostile
/// chain costs the event loops nothing. One thread per core, started once and kept for the process's life, as
/// NIO's own singletons are.
final class JudgeExecutor: TaskExecutor {
    static let shared = JudgeExecutor(threads: max(2, System.coreCount))

    private let pool: NIOThreadPool

    private init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        pool.submit { _ in job.runSynchronously(on: executor) }
    }
}
