// Preloaded (node --import) into the function processes of the rehearsal: the
// Functions Framework listens on every interface and has no option for the
// host, but test services must only be reachable from this machine. A
// listen(port[, callback]) without a host binds 127.0.0.1 instead.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && (args.length === 1 || typeof args[1] === 'function')) args.splice(1, 0, '127.0.0.1');
  return listen.apply(this, args);
};
