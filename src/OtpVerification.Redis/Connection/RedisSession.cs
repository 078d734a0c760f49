using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using OtpVerification.Stores;

namespace OtpVerification.Redis.Connection;

/// <summary>
/// One physical connection. Any number of callers send commands concurrently: each command is
/// serialised under a short lock straight into an outgoing pipe, and its pending reply is queued
/// in the same lock, so the queue's order is the wire's order. One loop writes the pipe to the
/// socket (batching whatever has accumulated: pipelining), one loop parses replies and completes
/// the pending replies first in, first out. Any I/O or protocol error closes the session and fails
/// every pending command; the owner reconnects.
/// </summary>
internal sealed class RedisSession : IDisposable
{
    private const int CoalesceLimit = 64 * 1024;

    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly Pipe _output = new(new PipeOptions(
        pauseWriterThreshold: 0,
        resumeWriterThreshold: 0,
        minimumSegmentSize: 4096,
        useSynchronizationContext: false));

    private readonly PipeReader _input;
    private readonly Queue<PendingReply> _pending = new();
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly Action<RedisSession, Exception> _onFault;
    private Exception? _fault;

    public RedisSession(RedisEndpoint endpoint, Socket socket, Stream stream, TimeProvider time, Action<RedisSession, Exception> onFault)
    {
        Endpoint = endpoint;
        _socket = socket;
        _stream = stream;
        _time = time;
        _onFault = onFault;
        _input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true));
    }

    public RedisEndpoint Endpoint { get; }

    public bool IsFaulted => Volatile.Read(ref _fault) is not null;

    /// <summary>Starts the read and write loops.</summary>
    public void Start()
    {
        _ = Task.Run(WriteLoopAsync);
        _ = Task.Run(ReadLoopAsync);
    }

    /// <summary>
    /// Queues a command. Returns <see langword="false"/> when the session is already closed: the
    /// command was not written and may be sent on another connection.
    /// </summary>
    public bool TrySend(ReadOnlySpan<RedisArg> command, out Task<RedisReply> reply)
    {
        var pending = new PendingReply(_time.GetTimestamp());
        Exception? writeError = null;
        lock (_lock)
        {
            if (_fault is not null)
            {
                reply = Task.FromResult(default(RedisReply));
                return false;
            }

            try
            {
                RespWriter.WriteCommand(_output.Writer, command);
            }
            catch (Exception ex) when (ex is ArgumentException or OutOfMemoryException or InvalidOperationException)
            {
                writeError = ex;
            }

            if (writeError is null)
            {
                _pending.Enqueue(pending);
                FlushLocked();
            }
        }

        if (writeError is not null)
        {
            // A half-written command would desynchronise the stream: start again on a new connection.
            Fault(writeError);
            throw new OtpStoreUnavailableException("A command could not be written to Redis.", writeError);
        }

        reply = pending.Task;
        return true;
    }

    private void FlushLocked()
    {

        // Never blocks: the pipe has no pause threshold. The writer loop picks the bytes up.
        var flush = _output.Writer.FlushAsync(CancellationToken.None);
        if (flush.IsCompleted)
        {
            _ = flush.Result;
        }
        else
        {
            _ = flush.AsTask();
        }
    }

    /// <summary>Closes the session when the oldest command has waited longer than <paramref name="timeout"/>.</summary>
    public void CheckTimeout(TimeSpan timeout)
    {
        long started;
        lock (_lock)
        {
            if (!_pending.TryPeek(out var head))
            {
                return;
            }

            started = head.Started;
        }

        if (_time.GetElapsedTime(started) > timeout)
        {
            Fault(new TimeoutException($"Redis at {Endpoint} did not answer within {timeout.TotalMilliseconds:0} ms."));
        }
    }

    /// <summary>Closes the session and fails every pending command, without telling the owner.</summary>
    public void Dispose() => Close(new ObjectDisposedException(nameof(RedisSession), "The Redis connection was closed."), notify: false);

    /// <summary>Closes the session, fails every pending command and tells the owner.</summary>
    public void Fault(Exception reason) => Close(reason, notify: true);

    private void Close(Exception reason, bool notify)
    {
        PendingReply[] failed;
        lock (_lock)
        {
            if (_fault is not null)
            {
                return;
            }

            FaultLocked(reason, out failed);
        }

        FailAll(failed, reason);
        if (notify)
        {
            _onFault(this, reason);
        }
    }

    private void FaultLocked(Exception reason, out PendingReply[] failed)
    {
        _fault = reason;
        failed = [.. _pending];
        _pending.Clear();
        _output.Writer.Complete();
        try
        {
            _socket.Dispose();
            _stream.Dispose();
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void FailAll(PendingReply[] failed, Exception reason)
    {
        if (failed.Length == 0)
        {
            return;
        }

        var message = reason is TimeoutException
            ? reason.Message
            : $"The connection to Redis at {Endpoint} was lost before the reply arrived ({reason.Message}); the command may or may not have run.";
        foreach (var pending in failed)
        {
            pending.TrySetException(new OtpStoreUnavailableException(message, reason));
            _ = pending.Task.Exception; // Observed even when the caller stopped waiting (cancellation).
        }
    }

    private async Task WriteLoopAsync()
    {
        var reader = _output.Reader;
        byte[]? coalesce = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    if (buffer.IsSingleSegment)
                    {
                        await _stream.WriteAsync(buffer.First).ConfigureAwait(false);
                    }
                    else if (buffer.Length <= CoalesceLimit)
                    {
                        // Many small commands in several segments: one write, one TLS record.
                        coalesce ??= ArrayPool<byte>.Shared.Rent(CoalesceLimit);
                        buffer.CopyTo(coalesce);
                        await _stream.WriteAsync(coalesce.AsMemory(0, (int)buffer.Length)).ConfigureAwait(false);
                    }
                    else
                    {
                        foreach (var segment in buffer)
                        {
                            await _stream.WriteAsync(segment).ConfigureAwait(false);
                        }
                    }

                    await _stream.FlushAsync().ConfigureAwait(false);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            Fault(ex);
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            if (coalesce is not null)
            {
                ArrayPool<byte>.Shared.Return(coalesce);
            }
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                var consumed = Consume(buffer);
                _input.AdvanceTo(consumed, buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    throw new IOException("The server closed the connection.");
                }
            }
        }
        catch (Exception ex)
        {
            Fault(ex);
        }
        finally
        {
            await _input.CompleteAsync().ConfigureAwait(false);
        }
    }

    private SequencePosition Consume(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (true)
        {
            var attempt = reader;
            if (!RespParser.TryRead(ref attempt, out var reply))
            {
                return reader.Position;
            }

            reader = attempt;
            PendingReply? pending;
            lock (_lock)
            {
                _pending.TryDequeue(out pending);
            }

            if (pending is null)
            {
                throw new InvalidDataException("The server sent a reply to no command.");
            }

            pending.TrySetResult(reply);
        }
    }

    private sealed class PendingReply(long started) : TaskCompletionSource<RedisReply>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public long Started { get; } = started;
    }
}
