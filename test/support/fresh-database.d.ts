/** Creates the database of `url` if it is missing, then empties its schema. */
export function freshDatabase(url: URL): Promise<void>;
