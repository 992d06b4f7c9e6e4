// cli.ts — .sync(): the same rows, read here, inline
import { exportUsers } from './export-users.ts';

for (const user of exportUsers.sync('users.db')) console.log(user.name);
