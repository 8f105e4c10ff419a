// The data dir holds the access token, the settings, the index and setup's backups (copies of
// shell startup files, which hold other secrets): it is its owner's alone. The folder is 0700
// and these files 0600, and a data dir that belongs to another user is refused, since that
// user could read the token or swap what the mirror serves.
import { chmod, mkdir, stat } from 'node:fs/promises';
import { JSONFile } from 'lowdb/node';

export class DataDirOwnerError extends Error {
  constructor(dir: string, owner: number, self: number) {
    super(
      `the data dir ${dir} belongs to another user (uid ${owner}; you are uid ${self}): it could read the access token or change what is served, so HexHub will not use it. Use a data dir of your own (--data-dir, HEXHUB_DATA_DIR).`,
    );
    this.name = 'DataDirOwnerError';
  }
}

/** Creates the data dir if needed, refuses one owned by another user, and makes it 0700. */
export async function preparePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  const self = process.getuid?.();
  if (self !== undefined && info.uid !== self) throw new DataDirOwnerError(dir, info.uid, self);
  if ((info.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/** lowdb's JSON file kept 0600: lowdb writes a temporary file and renames it into place, with the default mode. */
export class PrivateJSONFile<T> extends JSONFile<T> {
  constructor(private readonly file: string) {
    super(file);
  }

  override async write(data: T): Promise<void> {
    await super.write(data);
    await chmod(this.file, 0o600);
  }
}
