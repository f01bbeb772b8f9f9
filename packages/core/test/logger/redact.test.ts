import { expect } from 'chai';
import { redact } from '../../src';

describe('redact', () => {
  it('hides the password of an amqp:// or amqps:// URL and keeps the user and host', () => {
    expect(redact('amqp://guest:guest@127.0.0.1:5672')).to.equal('amqp://guest:***@127.0.0.1:5672');
    expect(redact('connecting to amqps://svc:s3cr3t@rabbit.example:5671/prod')).to.equal('connecting to amqps://svc:***@rabbit.example:5671/prod');
  });

  it('hides the password when the user name is empty', () => {
    expect(redact('amqp://:pw@h')).to.equal('amqp://:***@h');
  });

  it('hides it whatever the scheme or its case', () => {
    expect(redact('GET http://admin:hunter2@rabbit:15672/api/queues')).to.equal('GET http://admin:***@rabbit:15672/api/queues');
    expect(redact('AMQP://u:p@h')).to.equal('AMQP://u:***@h');
    expect(redact('amqp+tls://u:p@h')).to.equal('amqp+tls://u:***@h');
  });

  it('hides every URL of a list, and a password holding a raw @ or :', () => {
    expect(redact('amqp://a:one@h1, amqp://b:two@h2')).to.equal('amqp://a:***@h1, amqp://b:***@h2');
    expect(redact('amqp://a:one@h1,amqp://b:two@h2')).to.equal('amqp://a:***@h1,amqp://b:***@h2');
    expect(redact("'amqp://u:p@ss:w@host/vhost'")).to.equal("'amqp://u:***@host/vhost'");
  });

  it('leaves text without a password alone', () => {
    for (const text of ['amqp://127.0.0.1:5672', 'amqp://user@host', 'mail bob@example.com', 'amqp://host:5672/vhost?x=a@b', 'ratio 1:2@3']) {
      expect(redact(text)).to.equal(text);
    }
  });
});
