//! `task-definition`: a task-definition JSON file, read and checked by `config`.

#[derive(Debug, Clone, PartialEq)]
pub struct TaskDefinitionFile {
    pub path: String,
    /// The file's text (valid JSON, an object).
    pub json: String,
    pub family: String,
    /// (container name, image) as written, in order.
    pub containers: Vec<(String, String)>,
    /// The file's own `tags`: kept on every revision registered from it.
    pub tags: Vec<(String, String)>,
}
