"""Page objects: where the fields are on each marketplace's pages, apart from which pages to visit."""
