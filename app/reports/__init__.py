"""Council reports: requests and the compile pipeline (`services`), the rows a report reads
(`rows`), the compiler (`compiler`), charts and files. Pages: `views`, `downloads`, `responses`
(the council's responses)."""
