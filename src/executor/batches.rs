//! Per-service AWS calls, a few at a time: 50 services must not take 50 round trips in a row,
//! and must not all hit ECS's API at once either.

use std::future::Future;

/// How many calls of one kind run at once (the deploy lock's tag calls use the same).
pub const PARALLEL: usize = 10;

/// Runs `call` on every item, `PARALLEL` at a time, in batches that each run to their end:
/// `stop` is asked after every batch, so once it says stop (a refusal, a signal) no further
/// call starts, and every call that did start has its answer. Results keep the items' order.
pub async fn in_batches<'i, I, T, F, Fut>(items: &'i [I], mut call: F, mut stop: impl FnMut(&[T]) -> bool) -> Vec<T>
where
    F: FnMut(&'i I) -> Fut,
    Fut: Future<Output = T>,
{
    let mut out = Vec::with_capacity(items.len());
    for batch in items.chunks(PARALLEL) {
        let answers = futures::future::join_all(batch.iter().map(&mut call)).await;
        let done = stop(&answers);
        out.extend(answers);
        if done {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stop_lets_the_batch_finish_and_starts_no_other() {
        let items: Vec<u32> = (0..25).collect();
        let out = in_batches(&items, |i| async move { *i }, |batch| batch.contains(&12)).await;
        assert_eq!(
            out,
            (0..20).collect::<Vec<_>>(),
            "the batch holding 12 ends; the third never starts"
        );
        let all = in_batches(&items, |i| async move { *i }, |_| false).await;
        assert_eq!(all, items);
    }
}
