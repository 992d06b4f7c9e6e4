// Worker module for piscina in the soak comparison.
import { lookup } from '../soak/work.ts';

export default lookup;
