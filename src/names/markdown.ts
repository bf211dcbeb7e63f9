export function catalogMarkdown(): string { return ''; }
