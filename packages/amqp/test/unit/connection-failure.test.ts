import { expect } from 'chai';
import { connectionFailure, failureKind, vhostAndUser } from '../../src/connection/connection-failure';
import { AmqpConnectionError } from '../../src/errors';

// The errors amqplib 2.x gives for each refusal, as seen against RabbitMQ.
const VHOST_REFUSED = new Error('Expected ConnectionOpenOk; got <ConnectionClose channel:0>');
const LOGIN_REFUSED = new Error(
  'Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile."',
);
const REFUSED = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5672'), { code: 'ECONNREFUSED' });

describe('connectionFailure', () => {
  describe(vhostAndUser.name, () => {
    it('reads the vhost and the user as amqplib does', () => {
      expect(vhostAndUser('amqp://billing:pw@rabbit:5672/shop')).to.deep.equal({ vhost: 'shop', user: 'billing' });
      expect(vhostAndUser('amqp://rabbit:5672')).to.deep.equal({ vhost: '/', user: 'guest' });
      expect(vhostAndUser('amqp://guest:guest@rabbit/')).to.deep.equal({ vhost: '/', user: 'guest' });
      expect(vhostAndUser('amqp://a%40b:pw@rabbit/%2Fprod')).to.deep.equal({ vhost: '/prod', user: 'a@b' });
    });
  });

  describe(failureKind.name, () => {
    it('tells a vhost refusal, a login refusal and an unreachable broker apart', () => {
      expect(failureKind(VHOST_REFUSED)).to.equal('vhost');
      expect(failureKind(new Error('Handshake terminated by server: 530 (NOT-ALLOWED) with message "NOT_ALLOWED - vhost shop not found"'))).to.equal('vhost');
      expect(failureKind(LOGIN_REFUSED)).to.equal('login');
      expect(failureKind(REFUSED)).to.equal('unreachable');
      expect(failureKind(new Error('something else'))).to.equal('other');
    });
  });

  it('names the vhost, the user and the fix when the broker will not open the vhost', () => {
    const error = connectionFailure([{ url: 'amqp://billing:s3cr3t@rabbit:5672/shop', error: VHOST_REFUSED }]);
    expect(error).to.be.instanceOf(AmqpConnectionError);
    expect(error.code).to.equal('CONNECTION_FAILED');
    expect(error.message).to.contain("amqp://billing:***@rabbit:5672/shop: the broker refused to open vhost 'shop' for user 'billing' (Expected ConnectionOpenOk");
    expect(error.message).to.contain("The vhost 'shop' does not exist, or user 'billing' has no permissions on it");
    expect(error.message).to.contain("rabbitmqctl add_vhost shop and grant them with rabbitmqctl set_permissions -p shop billing '.*' '.*' '.*'");
    expect(error.message).to.not.contain('s3cr3t').and.not.contain('Check that the broker runs');
  });

  it('quotes a vhost that a shell would split', () => {
    const error = connectionFailure([{ url: 'amqp://guest:guest@rabbit/my%20shop', error: VHOST_REFUSED }]);
    expect(error.message).to.contain("rabbitmqctl add_vhost 'my shop'").and.contain("set_permissions -p 'my shop' guest");
  });

  it('says to check the credentials when the login is refused', () => {
    const error = connectionFailure([{ url: 'amqp://billing:wrong@rabbit:5672', error: LOGIN_REFUSED }]);
    expect(error.message).to.contain("The broker refused the login of user 'billing'").and.contain('rabbitmqctl add_user').and.not.contain('wrong@');
  });

  it('says to start the broker when it cannot be reached, and gives each URL its own reason', () => {
    const error = connectionFailure([
      { url: 'amqp://guest:guest@127.0.0.1:5672', error: REFUSED },
      { url: 'amqp://guest:guest@rabbit-2:5672/shop', error: VHOST_REFUSED },
    ]);
    expect(error.message).to.match(/^Could not connect to RabbitMQ \(amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5672: connect ECONNREFUSED 127\.0\.0\.1:5672; amqp:\/\/guest:\*\*\*@rabbit-2:5672\/shop: the broker refused to open vhost 'shop'/);
    expect(error.message).to.contain('rabbitmqctl add_vhost shop').and.contain('Check that the broker runs (rabbitmq-server -detached)');
  });
});
